-- ARGV: a time in ms. The stored clock becomes the later of it and the stored time; returns
-- the stored time after.
local key = p .. 'clock'
local stored = tonumber(redis.call('GET', key))
local to = tonumber(ARGV[1])
if stored and stored >= to then return stored end
redis.call('SET', key, ARGV[1])
return to
