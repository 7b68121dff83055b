#!lua
-- Appends one write to the journal the archive drains, and keeps the journal within its bound in bytes by
-- dropping the oldest entries (a long MongoDB outage must not fill Redis).
-- KEYS[1]  the journal stream; it holds only entries the archive has not copied yet
-- KEYS[2]  the bytes its entries hold (a counter kept by this script and journal-acknowledge.lua)
-- KEYS[3]  how many entries the bound dropped since the archive last drained the journal
-- ARGV[1]  the bound, in bytes
-- ARGV[2]  the size of this entry in bytes (stored as its field `s`, so that dropping it can subtract it)
-- ARGV[3..] field, value, field, value ... of the entry
-- Returns how many entries the bound dropped: writes that will never reach the archive through the journal.
local bound = tonumber(ARGV[1])
-- An entry larger than the whole bound would push out every other entry and then itself: drop only it.
if tonumber(ARGV[2]) > bound then
  redis.call('INCRBY', KEYS[3], 1)
  return 1
end
redis.call('XADD', KEYS[1], '*', 's', ARGV[2], unpack(ARGV, 3))
local total = redis.call('INCRBY', KEYS[2], ARGV[2])
local dropped = 0
while total > bound do
  local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
  if not oldest then
    redis.call('SET', KEYS[2], 0)
    break
  end
  -- `s` is the first field of every entry (XADD above)
  redis.call('XDEL', KEYS[1], oldest[1])
  total = redis.call('DECRBY', KEYS[2], oldest[2][2])
  dropped = dropped + 1
end
if dropped > 0 then redis.call('INCRBY', KEYS[3], dropped) end
return dropped
