-- ARGV: account. {its usage as stored (JSON or false), the tasks counted since (a list)}.
return {
  redis.call('HGET', p .. 'usage', ARGV[1]),
  redis.call('LRANGE', p .. 'usagelog:' .. ARGV[1], 0, -1),
}
