#!lua
-- Stores the body shared by the keys of one message and records one attachment per key that is about to point
-- at it, before any key does, so that no key ever points at a missing body.
--
-- An attachment is the field `<digest>|<token>` of the references hash, valued with the Redis time it was made:
-- the token is fresh for every attempt to apply a message, so a release (release-datum.lua) removes exactly the
-- attachment its attempt made or the one a key held before being moved, never a newer attachment of the same key
-- made by a redelivery of the message. A body already present (a redelivery, or a restore of a datum Redis still
-- holds) is kept with its ETag and expiry, so that every key of a datum reads alike, whichever attempt wrote it.
--
-- The `#!lua` line makes Redis refuse the whole script with OOM while it is over `maxmemory`.
--
-- KEYS[1]  the datum body (a string: the JSON a read returns)
-- KEYS[2]  its references (a hash: `#e` the body's ETag, `#x` its expiry, then one field per attachment)
-- ARGV[1]  the body
-- ARGV[2]  its ETag
-- ARGV[3]  expiry as a Unix time in ms, '0' for none
-- ARGV[4]  the attempt's token
-- ARGV[5..] the digests of the keys that will point at it (at most 1000, far below Lua's unpack limit)
-- Returns {etag, expiry, attachedAt}: the body's ETag and expiry as stored, and the Redis time of the attachment.
local etag, expireAt = ARGV[2], ARGV[3]
local time = redis.call('TIME')
local attachedAt = tostring(tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000))
-- One HSET for the body's fields (when this call stores it) and every attachment.
local fields, count = {}, 0
local stored = redis.call('HMGET', KEYS[2], '#e', '#x')
if stored[1] and redis.call('EXISTS', KEYS[1]) == 1 then
  etag, expireAt = stored[1], stored[2]
else
  if expireAt == '0' then
    redis.call('SET', KEYS[1], ARGV[1])
  else
    redis.call('SET', KEYS[1], ARGV[1], 'PXAT', expireAt)
  end
  fields[1], fields[2], fields[3], fields[4] = '#e', etag, '#x', expireAt
  count = 4
end
local suffix = '|' .. ARGV[4]
for i = 5, #ARGV do
  fields[count + 1], fields[count + 2] = ARGV[i] .. suffix, attachedAt
  count = count + 2
end
if count > 0 then redis.call('HSET', KEYS[2], unpack(fields, 1, count)) end
if expireAt == '0' then
  redis.call('PERSIST', KEYS[2])
else
  redis.call('PEXPIREAT', KEYS[2], expireAt)
end
return {etag, expireAt, attachedAt}
