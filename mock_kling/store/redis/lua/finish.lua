-- ARGV: task id, the claim's token, seq.
redis.call('LPOP', q)
redis.call('DECR', p .. 'pending')
local next_head = head_of(id)
if next_head then redis.call('ZADD', p .. 'due', next_head.due_ms, id) end
return 1
