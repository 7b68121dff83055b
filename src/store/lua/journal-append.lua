-- Appends one write to the journal the archive drains, and keeps the journal within its cap.
-- KEYS[1]  the journal stream; it holds only entries the archive has not copied yet (a run trims what it copied)
-- ARGV[1]  the cap, in entries
-- ARGV[2..] field, value, field, value ... of the entry
-- Returns how many entries the cap trimmed: writes that will never reach the archive through the journal.
redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
return redis.call('XTRIM', KEYS[1], 'MAXLEN', '~', ARGV[1])
