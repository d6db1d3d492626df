-- ARGV: account. {the account's usage, its limits, the next-outcome rules}: each JSON, or false
-- when not set.
local account = ARGV[1]
return {
  redis.call('HGET', p .. 'usage', account),
  redis.call('HGET', p .. 'limits', account),
  redis.call('GET', p .. 'next_outcomes'),
}
