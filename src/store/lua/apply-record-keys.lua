#!lua
-- Applies one message to a group of webhook keys, each key atomically and independently of the others: ownership
-- rule, tombstone and version guard, then write or delete. All KEYS must share one hash slot (on a cluster).
-- The `#!lua` line makes Redis refuse the whole script with OOM while it is over `maxmemory`, before any write.
--
-- Under a rotation of the webhook-key secret (WEBHOOK_KEY_SECRETS) a key has one record name per secret. Each key
-- then comes as ARGV[12] records, newest secret first: the guard judges the record found first (the newest that
-- exists), and a write or delete removes every one of them before writing under the newest, so the key is left
-- with one record and an older secret's record can neither be overtaken by an older version nor come back later.
--
-- KEYS     the records of the webhook keys (ARGV[12] per key, newest secret first), then, only when this call
--          attaches the shared body itself (ARGV[9] '*'), the datum body and its references (as attach-datum.lua's
--          KEYS[1] and KEYS[2]). Each record is a hash:
--            a = owning account, v = version (optional),
--            d = datum id, e = etag, b = body when stored inline, t = attachment token when the body is shared,
--            s = when the message that stored this data was sent to the ingest queue (Unix ms; absent on older data)
--            z = time of a delete: the record is then a tombstone holding only a, z, v (a versioned delete) and s,
--            h = the key's mask (WebhookKeyDigester): what the re-key job needs to move the record to a newer
--                secret; on data and tombstones alike
--            p = what the write that made this record replaced, so that a replay of that write can name it again
--                (its journal entry may have failed after the keys were written: a failover, a WAIT timing out):
--                '<writer>|<inline>|<at>|<token>|<previous>', with <writer> the id of the delete message on a
--                tombstone ('' on data: the record's `d`), <inline> '1' when <previous> lived in the record,
--                <at> which of the key's records held it (as previousAt below), <token> its attachment when shared.
--                Only when the write replaced a datum; it lives as long as the record
--            g = the key's generation: Redis time in µs when the record was written, but always above the `g` of the
--                record it replaced (so it only grows for a key, also across a failover to a server whose clock is
--                behind). The archive orders a key's writes by it (which datum held the key last), never by the
--                workers' clocks
-- ARGV (ARGV[1] to ARGV[14] the same for every key)
-- ARGV[1]  'set', 'delete', 'restore' (a set that only fills an absent key or one holding an older version), or
--          'erase' (the account's erasure: removes the record, tombstone or marker of this account, leaving nothing)
-- ARGV[2]  account id of the message
-- ARGV[3]  version of the message, '' when it has none
-- ARGV[4]  datum id (the message id)
-- ARGV[5]  etag of the body
-- ARGV[6]  the body when stored inline in the record, '' when the body is a shared datum attached before this
--          call; with ARGV[9] '*', the shared body this call stores (never in the records)
-- ARGV[7]  expiry as a Unix time in ms, '0' for none
-- ARGV[8]  the attachment token of this attempt when the body is shared, else ''
-- ARGV[9]  Redis time (ms) this attempt attached the shared body (attach-datum.lua), '' when not shared, or '*': this
--          call attaches it first, exactly as attach-datum.lua would (the body stored unless it is there already,
--          then its stored ETag and expiry are the ones written to the records; one attachment per key under this
--          attempt's token), then applies the keys: one call instead of two where the records, the body and its
--          references may share a call (a single server, not a cluster). The digest each key attaches under
--          follows the masks: ARGV[15 + n + 1 ...], n the number of keys
-- ARGV[10] the oldest attachment this script still honours (ms of age): the reconciler removes unmatched
--          attachments only when much older, so a key is never pointed at an attachment that may be gone
-- ARGV[11] how long a delete's tombstone lives in ms, '0' for no tombstone. A versioned delete always leaves one;
--          a delete without a version leaves one where it deleted data, so that a redriven older message cannot
--          bring that data back
-- ARGV[12] records per key: 1, or the number of secrets listed while one is being rotated out
-- ARGV[13] when the message was first sent to the ingest queue (Unix ms), '' when unknown
-- ARGV[14] '1' for a message redriven from the dead-letter queue: it never overwrites data (or a delete) that a
--          message sent after it stored, versioned or not ('stale'); with its send time unknown (SQS moved it to
--          the dead-letter queue itself and reset it), it only fills keys that hold nothing. '' for other messages
-- ARGV[15...] the mask `h` of each key of this call (one per group of ARGV[12] records, in the order of KEYS),
--          stored with what the key's newest record holds; '' (or absent) when unknown: the record then has no `h`
--          (present, one per key, with ARGV[9] '*': the digests to attach under follow them)
-- Returns, for each key (each group of ARGV[12] records), one entry, its six parts joined by '|':
-- 'outcome|previousToken|previousInline|previousAt|generation|previous' (`previous` last, since only it is a datum
-- id; one string per key instead of six entries: replies are a measurable share of the call's cost in Redis):
--   outcome        'applied'; 'kept' (the key holds this very datum already: a replay, or a restore of live data;
--                  or a delete found the tombstone it left before, or, without a version, another delete's, which
--                  stays); 'held' (the key holds this datum under this attempt's own attachment: the same call ran
--                  before and its reply was lost);
--                  'stale' (older version, a tombstone's version or newer, for restore: not older, for a redrive:
--                  data sent after it); 'foreign';
--                  'tombstoned' (restore only: the key was deleted with a version, and stays so)
--   previous       the datum this key held before this write, '' when none or when not applied
--   previousToken  the attachment under which the key held `previous` when that body is shared, else ''
--   previousInline '1' when `previous` lived in this record (so this write ended it), else '0'
--   previousAt     which of the key's records held `previous`, or for a refused key the record it holds (0 for
--                  the newest secret's), '0' when none
--   generation     the key's `g` after this call: the new record's for 'applied', the record's for 'kept' and
--                  'held' ('' when it has none: written before generations), '' otherwise
--   For 'kept' and 'held' (not for a restore), when the key's record was made by this very message and its write
--   replaced a datum (`p`), `previous`, `previousToken` and `previousInline` name that datum again, and `previousAt`
--   is '<heldAt>:<previousAt>': the record holding this message's write, and the one that held `previous`.
-- With ARGV[9] '*', one more entry after the keys': 'etag|expiry' of the body as stored (an earlier attempt's,
-- when the body was there already).
local op, account, version, datum = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local token, tombstoneTtl, sentAt, redriven = ARGV[8], ARGV[11], ARGV[13] or '', ARGV[14] == '1'

-- Redis time, read once per call and only by the calls that need it (an attachment's age, a tombstone's time, a
-- generation): µs, and ms.
local callMicros, callMillis
local function readTime()
  local time = redis.call('TIME')
  callMicros = tonumber(time[1]) * 1000000 + tonumber(time[2])
  callMillis = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
local function now()
  if not callMillis then readTime() end
  return callMillis
end
-- Every key of the call gets at least the call's time as its generation; formatted once (µs exceed %.14g).
local callGeneration
local function generationAfter(stored)
  if not callMicros then readTime() end
  local storedNumber = tonumber(stored)
  if storedNumber and storedNumber >= callMicros then return string.format('%.0f', storedNumber + 1) end
  if not callGeneration then callGeneration = string.format('%.0f', callMicros) end
  return callGeneration
end

local recordsPerKey = tonumber(ARGV[12])
local attachHere = ARGV[9] == '*'
local recordCount = #KEYS
-- The ETag and expiry the records are written with: the body's as stored, when this call finds it stored.
local etag, expireAt = ARGV[5], ARGV[7]
if attachHere then
  recordCount = #KEYS - 2
  local bodyKey, refsKey = KEYS[#KEYS - 1], KEYS[#KEYS]
  local fields, count = {}, 0
  local stored = redis.call('HMGET', refsKey, '#e', '#x')
  if stored[1] and redis.call('EXISTS', bodyKey) == 1 then
    etag, expireAt = stored[1], stored[2]
  else
    if expireAt == '0' then
      redis.call('SET', bodyKey, ARGV[6])
    else
      redis.call('SET', bodyKey, ARGV[6], 'PXAT', expireAt)
    end
    fields[1], fields[2], fields[3], fields[4] = '#e', etag, '#x', expireAt
    count = 4
  end
  local attachedAt, suffix = tostring(now()), '|' .. token
  local keyCount = recordCount / recordsPerKey
  for at = 15 + keyCount, 14 + 2 * keyCount do
    fields[count + 1], fields[count + 2] = ARGV[at] .. suffix, attachedAt
    count = count + 2
  end
  redis.call('HSET', refsKey, unpack(fields, 1, count))
  if expireAt == '0' then
    redis.call('PERSIST', refsKey)
  else
    redis.call('PEXPIREAT', refsKey, expireAt)
  end
elseif ARGV[9] ~= '' and now() - tonumber(ARGV[9]) > tonumber(ARGV[10]) then
  return redis.error_reply('ATTACHMENT_EXPIRED the shared body was attached too long ago; apply the message again')
end
-- The body goes in the records only when it is not shared.
local inlineBody = ARGV[6]
if attachHere then inlineBody = '' end

-- The id of the message whose write made a record, from its `p` (nil without one).
local function replacedBy(replaced, storedDatum)
  if not replaced then return nil end
  local writer = string.match(replaced, '^([^|]*)|')
  if writer == '' then return storedDatum end
  return writer
end

local function guard(owner, storedVersion, storedDatum, storedToken, deletedAt, storedSentAt, storedReplaced)
  if op == 'erase' then
    if not owner then return 'stale' end
    if owner ~= account then return 'foreign' end
    return nil
  end
  if not owner then return nil end
  -- When what the key holds was sent (a marker or tombstone without `s`: the time of the delete, later still).
  local storedAt = storedSentAt or deletedAt
  local sentLater = redriven and (sentAt == '' or (storedAt and tonumber(storedAt) > tonumber(sentAt)))
  -- The marker a delete without a version leaves frees the key for any other account (whose data it never held);
  -- its time guards the redrives of its own account. Another account's delete without a version leaves it as it
  -- is, so that it keeps guarding them.
  if owner ~= account then
    if deletedAt and not storedVersion then
      if op == 'delete' and version == '' then return 'kept' end
      return nil
    end
    return 'foreign'
  end
  if deletedAt then
    if op == 'restore' then return 'tombstoned' end
    -- This very delete ran before (its reply or its journal entry lost): the key is as it left it.
    if op == 'delete' and replacedBy(storedReplaced) == datum then return 'kept' end
    if sentLater then return 'stale' end
    if version ~= '' and storedVersion and tonumber(version) <= tonumber(storedVersion) then return 'stale' end
    -- A delete without a version over a tombstone leaves it: the key stays deleted, and the tombstone still guards it.
    if op == 'delete' and version == '' then return 'kept' end
    return nil
  end
  if op ~= 'delete' and storedDatum == datum then
    -- This very call ran before and its reply was lost (a resend): the key holds this attempt's own attachment.
    if token ~= '' and storedToken == token then return 'held' end
    return 'kept'
  end
  if sentLater then return 'stale' end
  if op == 'restore' then
    if version == '' or not storedVersion or tonumber(storedVersion) >= tonumber(version) then return 'stale' end
  elseif version ~= '' and storedVersion and tonumber(storedVersion) > tonumber(version) then
    return 'stale'
  end
  return nil
end

-- The fields a set or restore writes: the same for every key of the call, so built once.
local setFields
local function recordFields()
  if setFields then return setFields end
  setFields = {'a', account, 'd', datum, 'e', etag}
  if version ~= '' then
    setFields[#setFields + 1] = 'v'
    setFields[#setFields + 1] = version
  end
  if inlineBody ~= '' then
    setFields[#setFields + 1] = 'b'
    setFields[#setFields + 1] = inlineBody
  else
    setFields[#setFields + 1] = 't'
    setFields[#setFields + 1] = token
  end
  if sentAt ~= '' then
    setFields[#setFields + 1] = 's'
    setFields[#setFields + 1] = sentAt
  end
  return setFields
end

-- `replaced` is the record's `p` ('' when the write replaced no datum, and always for a restore); `generation` its `g`.
local function write(key, existed, mask, replaced, generation)
  if op == 'erase' then return end
  if op == 'delete' then
    if tombstoneTtl ~= '0' and (version ~= '' or existed) then
      redis.call('HSET', key, 'a', account, 'z', now(), 'g', generation)
      if version ~= '' then redis.call('HSET', key, 'v', version) end
      if sentAt ~= '' then redis.call('HSET', key, 's', sentAt) end
      if mask ~= '' then redis.call('HSET', key, 'h', mask) end
      if replaced ~= '' then redis.call('HSET', key, 'p', datum .. replaced) end
      redis.call('PEXPIRE', key, tombstoneTtl)
    end
    return
  end
  local fields = recordFields()
  local base = #fields
  -- The fields that differ per key, added for this HSET and taken off again for the next key.
  fields[base + 1], fields[base + 2] = 'g', generation
  local count = base + 2
  if mask ~= '' then
    fields[count + 1], fields[count + 2] = 'h', mask
    count = count + 2
  end
  if replaced ~= '' then
    fields[count + 1], fields[count + 2] = 'p', replaced
    count = count + 2
  end
  redis.call('HSET', key, unpack(fields, 1, count))
  for index = base + 1, count do fields[index] = nil end
  if expireAt ~= '0' then redis.call('PEXPIREAT', key, expireAt) end
end

-- The key whose records are KEYS[first] (its newest secret's) to KEYS[first + recordsPerKey - 1].
local function apply(first)
  local last = first + recordsPerKey - 1
  local current, currentAt = {}, 0
  for index = first, last do
    current = redis.call('HMGET', KEYS[index], 'a', 'v', 'd', 't', 'z', 'b', 's', 'p', 'g')
    currentAt = index - first
    if current[1] then break end
  end
  if not current[1] then currentAt = 0 end
  local refused = guard(current[1], current[2], current[3], current[4], current[5], current[7], current[8])
  if refused == 'kept' or refused == 'held' then
    -- A replay of this very message's write names what that write replaced again (when it replaced anything),
    -- since its journal entry may never have been written.
    if op ~= 'restore' and current[8] and replacedBy(current[8], current[3]) == datum then
      local inline, at, replacedToken, replaced = string.match(current[8], '^[^|]*|(%d)|(%d+)|([^|]*)|(.*)$')
      -- `at` counted the records of the write's own attempt; a secret listed since in front moved them all along.
      local previousAt = math.min(currentAt + tonumber(at), recordsPerKey - 1)
      return refused, replaced, replacedToken, inline, currentAt .. ':' .. previousAt, current[9] or ''
    end
    return refused, '', '', '0', tostring(currentAt), current[9] or ''
  end
  -- A refused key stays where it is: `previousAt` says under which secret's record (what the journal must name).
  if refused then return refused, '', '', '0', tostring(currentAt), '' end
  local previous, previousToken, previousInline = current[3] or '', current[4] or '', '0'
  if current[6] then previousInline = '1' end
  -- Only a delete of data leaves a marker: one over nothing (or over a marker) has nothing to guard.
  local existed = current[3] ~= nil and current[3] ~= false
  -- Records of older secrets other than the current one (left by a restore of archived data) go too: the key keeps
  -- one record. A shared body they pointed at keeps their attachment until the reconciler's grace has passed.
  -- None of them exists when none has an owner (every record is written with one): nothing to delete then.
  if current[1] then redis.call('DEL', unpack(KEYS, first, last)) end
  local replaced = ''
  if existed and op ~= 'restore' then
    replaced = '|' .. previousInline .. '|' .. currentAt .. '|' .. previousToken .. '|' .. previous
  end
  local generation = generationAfter(current[9])
  write(KEYS[first], existed, ARGV[14 + (first - 1) / recordsPerKey + 1] or '', replaced, generation)
  return 'applied', previous, previousToken, previousInline, tostring(currentAt), generation
end

local replies = {}
for first = 1, recordCount, recordsPerKey do
  local outcome, previous, previousToken, previousInline, previousAt, generation = apply(first)
  replies[#replies + 1] = outcome .. '|' .. previousToken .. '|' .. previousInline .. '|' .. previousAt .. '|' ..
    generation .. '|' .. previous
end
if attachHere then replies[#replies + 1] = etag .. '|' .. expireAt end
return replies
