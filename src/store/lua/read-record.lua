-- A webhook key's record for a read and, when its data is a shared body, that body too: one round trip instead of
-- two on a single server (RecordReader; on a cluster the body is in another hash slot and is read with its own GET).
-- Reads only. No `#!lua` line on purpose: in that (compatibility) mode a script may read a key it could not declare,
-- the shared body, whose name is in the record; and it runs while Redis refuses writes (OOM), as the reads it
-- replaces did. Redis tracks the keys the script's commands read for the calling connection, as it would for the
-- same HMGET and GET sent alone, so CLIENT TRACKING invalidates both.
-- KEYS[1]  the record
-- ARGV[1]  the shared body's key up to its datum id, ARGV[2] the rest after it (KeyLayout.datum)
-- Returns the record's ETag, inline body and datum id (nil when absent), then the shared body (nil when gone) when
-- the record has a datum id and no inline body.
local record = redis.call('HMGET', KEYS[1], 'e', 'b', 'd')
if record[1] and not record[2] and record[3] then record[4] = redis.call('GET', ARGV[1] .. record[3] .. ARGV[2]) end
return record
