#!lua flags=allow-oom
-- Drops journal entries the archive has copied, subtracting their sizes from the journal's byte count. An entry
-- the bound dropped meanwhile (journal-append.lua) is not subtracted twice. Only frees memory, hence allow-oom.
-- KEYS[1]  the journal stream; KEYS[2] its byte count
-- ARGV     entry id, size, entry id, size ...
local freed = 0
for i = 1, #ARGV, 2 do
  if redis.call('XDEL', KEYS[1], ARGV[i]) == 1 then freed = freed + tonumber(ARGV[i + 1]) end
end
if freed > 0 then redis.call('DECRBY', KEYS[2], freed) end
return freed
