-- ARGV: task id, the claim's token, seq, the new head's JSON, its due time.
redis.call('LSET', q, 0, ARGV[4])
redis.call('ZADD', p .. 'due', ARGV[5], id)
return 1
