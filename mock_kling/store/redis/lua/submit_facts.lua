-- ARGV: account, "1" for the usage too. {the account's limits, the next-outcome rules (each
-- JSON or false), then, when asked for or the account has limits set, its usage: the stored
-- JSON (or false) and the tasks counted since (a list; false when not read)}.
local account = ARGV[1]
local limits = redis.call('HGET', p .. 'limits', account)
local usage, counted = false, false
if ARGV[2] == '1' or limits then
  usage = redis.call('HGET', p .. 'usage', account)
  counted = redis.call('LRANGE', p .. 'usagelog:' .. account, 0, -1)
end
return {limits, redis.call('GET', p .. 'next_outcomes'), usage, counted}
