#!lua flags=allow-oom
-- Takes or renews a lock held under an owner token, with an expiry. allow-oom: the reconciler, which frees memory,
-- must be able to take its lock while Redis is full; the lock itself is a few bytes.
-- KEYS[1]  the lock; ARGV[1] the owner token; ARGV[2] its lifetime in ms
-- Returns 1 when the caller holds the lock afterwards, 0 when someone else does.
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
