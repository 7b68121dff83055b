-- Applies one message to a group of webhook keys, each key atomically and independently of the others:
-- ownership rule, version guard, then write or delete. All KEYS must share one hash slot (on a cluster).
-- KEYS     the records of the webhook keys, each a hash:
--            a = owning account, d = datum id, e = etag, v = version (optional),
--            b = body when stored inline (absent when the body is a shared datum),
--            o = a shared datum this key has stopped pointing at, kept so that a replay repeats its release
--          After deleting a key that pointed at a shared datum, the record stays as a tombstone holding only `o`
--          (it has no owner, version or body: reads and later writes treat it as absent) for ARGV[8] ms.
-- ARGV (the same for every key)
-- ARGV[1]  'set', 'delete', or 'restore' (a set that only fills an absent key or one holding an older version)
-- ARGV[2]  account id of the message
-- ARGV[3]  version of the message, '' when it has none
-- ARGV[4]  datum id (the message id)
-- ARGV[5]  etag of the body
-- ARGV[6]  the body when stored inline in the record, '' when the body is a shared datum
-- ARGV[7]  expiry as a Unix time in ms, '0' for none
-- ARGV[8]  how long a tombstone lives, in ms
-- Returns, for each key in the order of KEYS, four entries {outcome, released, previous, previousInline}, flattened:
--   outcome   'applied', 'stale' (older version, or for restore: not older) or 'foreign' (another account's key)
--   released  a shared datum whose references must no longer include this key, or ''. Releasing twice is harmless,
--             so a replay of a message whose first attempt died before releasing returns the same id again.
--   previous  the datum this key held before this write, '' when it was absent or already this datum
--   previousInline '1' when that previous datum lived in this record (so this write ended it), else '0'
local op, account, version, datum = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local function apply(key)
  local current = redis.call('HMGET', key, 'a', 'v', 'd', 'o')
  local owner, storedVersion, storedDatum, superseded = current[1], current[2], current[3], current[4]
  if owner then
    if owner ~= account then return 'foreign', '', '', '0' end
    if op == 'restore' then
      if version == '' or not storedVersion or tonumber(storedVersion) >= tonumber(version) then
        return 'stale', '', '', '0'
      end
    elseif version ~= '' and storedVersion and tonumber(storedVersion) > tonumber(version) then
      return 'stale', '', '', '0'
    end
  end

  local previous, previousInline = '', '0'
  if storedDatum and storedDatum ~= datum then
    previous = storedDatum
    if redis.call('HEXISTS', key, 'b') == 1 then previousInline = '1' end
  end
  local released = superseded or ''
  if previous ~= '' and previousInline == '0' then released = previous end
  if released == datum then released = '' end

  redis.call('DEL', key)
  if op == 'delete' then
    if released ~= '' then redis.call('HSET', key, 'o', released) redis.call('PEXPIRE', key, ARGV[8]) end
    return 'applied', released, previous, previousInline
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
  return 'applied', released, previous, previousInline
end

local replies = {}
for index, key in ipairs(KEYS) do
  local at = (index - 1) * 4
  replies[at + 1], replies[at + 2], replies[at + 3], replies[at + 4] = apply(key)
end
return replies
