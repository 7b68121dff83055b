#!lua flags=allow-oom
-- Removes attachments from a shared datum's references and frees the body once no attachment is left. It only ever
-- frees memory, so it runs even while Redis is over `maxmemory` (allow-oom): garbage must be collectable when full.
-- KEYS[1]  the datum body
-- KEYS[2]  its references (`#e`, `#x`, then the attachments; see attach-datum.lua)
-- ARGV     attachments (`<digest>|<token>`) whose keys do not point at this datum under that token
-- Returns 1 when the body was freed.
redis.call('HDEL', KEYS[2], unpack(ARGV))
if redis.call('HLEN', KEYS[2]) <= 2 then
  redis.call('DEL', KEYS[1], KEYS[2])
  return 1
end
return 0
