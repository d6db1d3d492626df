-- ARGV: account, usage JSON. The account's usage is this now (the tasks counted before are in it).
redis.call('HSET', p .. 'usage', ARGV[1], ARGV[2])
redis.call('DEL', p .. 'usagelog:' .. ARGV[1])
