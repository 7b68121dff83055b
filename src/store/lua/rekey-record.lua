#!lua
-- Re-key of one record: moves a webhook key's record (data, tombstone or delete marker) from an older secret's digest
-- to the newest secret's, unchanged but for its mask, which is the newest secret's now. The caller computed the new
-- digest and mask from the mask it read (WebhookKeyDigester.unmask); nothing moves unless the old record still is as
-- read (compare-and-move), so a write, delete, restore or erasure in between is never undone: the caller reads again.
-- A shared body keeps the key attached: the attachment is renamed to the new digest with its time, so the reference
-- reconciler still sees it held and never frees a body a record points at.
-- When the key has a record under the newest secret already, the old one is obsolete (every write removes a key's
-- older records, and reads and writes judge the newest record first, so the old one is never seen): it is removed,
-- with its attachment, and the shared body freed if that was its last ('superseded').
-- All keys are on one server: several secrets are refused on a cluster (WEBHOOK_KEY_SECRETS), so this script only
-- ever moves records on a single Redis.
-- KEYS[1]  the record under the newest secret
-- KEYS[2]  the record under the older secret
-- KEYS[3]  the references of the shared body the old record points at (KEYS[2] again when it has none)
-- KEYS[4]  that shared body (KEYS[2] again when it has none)
-- ARGV[1]  the newest digest; ARGV[2] the older digest
-- ARGV[3]  the mask (`h`) the caller read in the old record
-- ARGV[4]  the datum id the caller read, '' for a tombstone or marker
-- ARGV[5]  the attachment token the caller read, '' when the body is inline or for a tombstone
-- ARGV[6]  the mask of the key under the newest secret
-- Returns 'moved', 'superseded', 'gone' (no old record any more: written, deleted, erased or expired since),
-- 'changed' (the old record is not as read) or 'unattached' (the shared body lacks the key's attachment: left as is).
if redis.call('EXISTS', KEYS[2]) == 0 then return 'gone' end
local current = redis.call('HMGET', KEYS[2], 'h', 'd', 't', 'b')
local token = ''
if current[3] and not current[4] then token = current[3] end
if (current[1] or '') ~= ARGV[3] or (current[2] or '') ~= ARGV[4] or token ~= ARGV[5] then return 'changed' end
local oldAttachment = ARGV[2] .. '|' .. token
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('DEL', KEYS[2])
  if token ~= '' then
    redis.call('HDEL', KEYS[3], oldAttachment)
    if redis.call('HLEN', KEYS[3]) <= 2 then redis.call('DEL', KEYS[4], KEYS[3]) end
  end
  return 'superseded'
end
if token ~= '' then
  local attachedAt = redis.call('HGET', KEYS[3], oldAttachment)
  if not attachedAt then return 'unattached' end
  redis.call('HSET', KEYS[3], ARGV[1] .. '|' .. token, attachedAt)
  redis.call('HDEL', KEYS[3], oldAttachment)
end
redis.call('RENAME', KEYS[2], KEYS[1])
redis.call('HSET', KEYS[1], 'h', ARGV[6])
return 'moved'
