-- Drops keys from a shared datum's references and frees the body once no key references it.
-- KEYS[1]  the datum body
-- KEYS[2]  its references
-- ARGV     digests of keys that no longer point at this datum
redis.call('HDEL', KEYS[2], unpack(ARGV))
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
