#!lua flags=allow-oom
-- Deletes a webhook key's record that points at a shared body that no longer exists (the reconciler found the body
-- gone), only if the record still points at that body under the same attachment: a key rewritten meanwhile is left
-- alone. The data is gone already (reads answer 404); deleting the record frees its memory and its ownership.
-- KEYS[1]  the record; ARGV[1] the datum id; ARGV[2] the attachment token. Returns 1 when deleted.
local current = redis.call('HMGET', KEYS[1], 'd', 't')
if current[1] == ARGV[1] and current[2] == ARGV[2] then return redis.call('DEL', KEYS[1]) end
return 0
