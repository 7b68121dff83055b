#!lua flags=allow-oom
-- Releases a lock only when the caller still holds it.
-- KEYS[1]  the lock; ARGV[1] the owner token. Returns 1 when released.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
