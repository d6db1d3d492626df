-- ARGV: ms (>= 0). Adds them to the stored time (absent: 0) and returns the new time. Once
-- (KEYS[2]): N advances of d_i move the clock by exactly sum(d_i).
local again = replayed()
if again then return tonumber(again) end
return remember(redis.call('INCRBY', p .. 'clock', ARGV[1]))
