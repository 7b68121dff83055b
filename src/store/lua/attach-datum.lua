-- Stores the body shared by the keys of one message and records which keys reference it, before any key is
-- pointed at it, so that no key ever points at a missing body. Replaying it is harmless.
-- KEYS[1]  the datum body (a string: the JSON a read returns)
-- KEYS[2]  its references (a hash: one field per webhook key digest)
-- ARGV[1]  the body
-- ARGV[2]  expiry as a Unix time in ms, '0' for none
-- ARGV[3..] the digests of the keys that will point at it (at most 1000, far below Lua's unpack limit)
local fields = {}
for i = 3, #ARGV do
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = ''
end
redis.call('HSET', KEYS[2], unpack(fields))
if ARGV[2] == '0' then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('PERSIST', KEYS[2])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
  redis.call('PEXPIREAT', KEYS[2], ARGV[2])
end
return 1
