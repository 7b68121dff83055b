#!lua
-- Records a new admin job, unless a job of a kind it excludes is running: the check and the start in one step, so
-- two requests at the same instant cannot both pass (a re-key beside an erasure could rename a record the erasure's
-- walk then misses).
-- KEYS[1]  the job's record; KEYS[2] the index of jobs by start time; KEYS[3] the running jobs (hash: id -> kind)
-- ARGV[1]  the job id; ARGV[2] its record (JSON); ARGV[3] its start (Unix ms); ARGV[4] its kind
-- ARGV[5]  the name of a job's record without its id (`<p>{jobs}:job:`): same hash slot as KEYS, so reading an
--          excluding job's record here is safe on a cluster too
-- ARGV[6...] the kinds that must not be running
-- Returns {} when the job was recorded, else {id, kind} of a running job of an excluded kind.
--
-- An entry of the running jobs whose record is gone or says the job ended (a record removed by hand, or data lost
-- with a Redis that was restarted without persistence) would exclude such jobs for ever, and no instance would
-- ever take it over to end it: it is removed here instead of blocking. A record this script cannot read blocks,
-- as a running job does.
local running = redis.call('HGETALL', KEYS[3])
for index = 1, #running, 2 do
  for excluded = 6, #ARGV do
    if running[index + 1] == ARGV[excluded] then
      local record = redis.call('GET', ARGV[5] .. running[index])
      local live = false
      if record then
        local ok, job = pcall(cjson.decode, record)
        live = not ok or type(job) ~= 'table' or job.status == 'running'
      end
      if live then return {running[index], running[index + 1]} end
      redis.call('HDEL', KEYS[3], running[index])
      break
    end
  end
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
return {}
