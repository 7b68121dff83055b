#!lua
-- Records a new admin job, unless a job of a kind it excludes is running: the check and the start in one step, so
-- two requests at the same instant cannot both pass (a re-key beside an erasure could rename a record the erasure's
-- walk then misses).
-- KEYS[1]  the job's record; KEYS[2] the index of jobs by start time; KEYS[3] the running jobs (hash: id -> kind)
-- ARGV[1]  the job id; ARGV[2] its record (JSON); ARGV[3] its start (Unix ms); ARGV[4] its kind
-- ARGV[5...] the kinds that must not be running
-- Returns {} when the job was recorded, else {id, kind} of a running job of an excluded kind.
local running = redis.call('HGETALL', KEYS[3])
for index = 1, #running, 2 do
  for excluded = 5, #ARGV do
    if running[index + 1] == ARGV[excluded] then return {running[index], running[index + 1]} end
  end
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
return {}
