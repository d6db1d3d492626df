-- ARGV: account. {fault rules' JSON or false, the account's limits' JSON or false}.
return {redis.call('GET', p .. 'fault_rules'), redis.call('HGET', p .. 'limits', ARGV[1])}
