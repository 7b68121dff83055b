#!lua
-- Moves one webhook key's record from an older secret's digest to the newest secret's (re-key), unchanged: data,
-- owner, version, tombstone and expiry. A shared body keeps the key attached: the attachment is renamed to the new
-- digest with its time, so the reconciler still sees it held. Nothing moves when the key has a record under the
-- newest secret already (a write took it there) or when the old record changed since the caller read it.
-- KEYS[1]  the record under the newest secret
-- KEYS[2]  the record under the older secret
-- KEYS[3]  the references of the shared body the old record points at (KEYS[2] again when its body is inline)
-- ARGV[1]  the newest digest; ARGV[2] the older digest
-- ARGV[3]  the datum id the caller read in the old record, '' for a tombstone
-- ARGV[4]  the attachment token the caller read, '' when the body is inline or for a tombstone
-- Returns 'moved', 'current' (a record under the newest secret exists) or 'changed' (the old record is not as read).
if redis.call('EXISTS', KEYS[1]) == 1 then return 'current' end
if redis.call('EXISTS', KEYS[2]) == 0 then return 'changed' end
local current = redis.call('HMGET', KEYS[2], 'd', 't')
if (current[1] or '') ~= ARGV[3] or (current[2] or '') ~= ARGV[4] then return 'changed' end
if ARGV[4] ~= '' then
  local oldAttachment, newAttachment = ARGV[2] .. '|' .. ARGV[4], ARGV[1] .. '|' .. ARGV[4]
  local attachedAt = redis.call('HGET', KEYS[3], oldAttachment)
  if not attachedAt then return 'changed' end
  redis.call('HSET', KEYS[3], newAttachment, attachedAt)
  redis.call('HDEL', KEYS[3], oldAttachment)
end
redis.call('RENAME', KEYS[2], KEYS[1])
return 'moved'
