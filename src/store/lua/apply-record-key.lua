-- Applies one message to one webhook key, atomically: ownership rule, version guard, then write or delete.
-- KEYS[1]  the record of one webhook key, a hash:
--            a = owning account, d = datum id, e = etag, v = version (optional),
--            b = body when stored inline (absent when the body is a shared datum),
--            o = a shared datum this key has stopped pointing at, kept so that a replay repeats its release
--          After deleting a key that pointed at a shared datum, the record stays as a tombstone holding only `o`
--          (it has no owner, version or body: reads and later writes treat it as absent) for ARGV[8] ms.
-- ARGV[1]  'set' or 'delete'
-- ARGV[2]  account id of the message
-- ARGV[3]  version of the message, '' when it has none
-- ARGV[4]  datum id (the message id)
-- ARGV[5]  etag of the body
-- ARGV[6]  the body when stored inline in this record, '' when the body is a shared datum
-- ARGV[7]  expiry as a Unix time in ms, '0' for none
-- ARGV[8]  how long a tombstone lives, in ms
-- Returns {outcome, released}: outcome is 'applied', 'stale' or 'foreign'; released is the id of a shared datum
-- whose references must no longer include this key, or ''. Releasing twice is harmless, so a replay of a message
-- whose first attempt died before releasing returns the same id again.
local key = KEYS[1]
local op, account, version, datum = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local current = redis.call('HMGET', key, 'a', 'v', 'd', 'o')
local owner, storedVersion, storedDatum, superseded = current[1], current[2], current[3], current[4]
if owner then
  if owner ~= account then return {'foreign', ''} end
  if version ~= '' and storedVersion and tonumber(storedVersion) > tonumber(version) then return {'stale', ''} end
end

local released = superseded or ''
if storedDatum and storedDatum ~= datum and redis.call('HEXISTS', key, 'b') == 0 then released = storedDatum end
if released == datum then released = '' end

redis.call('DEL', key)
if op == 'delete' then
  if released ~= '' then redis.call('HSET', key, 'o', released) redis.call('PEXPIRE', key, ARGV[8]) end
  return {'applied', released}
end

local fields = {'a', account, 'd', datum, 'e', ARGV[5]}
if version ~= '' then
  fields[#fields + 1] = 'v'
  fields[#fields + 1] = version
end
if ARGV[6] ~= '' then
  fields[#fields + 1] = 'b'
  fields[#fields + 1] = ARGV[6]
end
if released ~= '' then
  fields[#fields + 1] = 'o'
  fields[#fields + 1] = released
end
redis.call('HSET', key, unpack(fields))
if ARGV[7] ~= '0' then redis.call('PEXPIREAT', key, ARGV[7]) end
return {'applied', released}
