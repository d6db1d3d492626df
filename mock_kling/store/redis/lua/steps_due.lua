-- ARGV: now (fake ms). The tasks with a step due by then, flat: id, its due time, its next
-- unannounced step's index, the task's JSON. Read only (steps_announce commits).
local found = redis.call('ZRANGEBYSCORE', p .. 'steps', '-inf', ARGV[1], 'WITHSCORES')
local out = {}
for i = 1, #found, 2 do
  local id = found[i]
  out[#out + 1] = id
  out[#out + 1] = found[i + 1]
  out[#out + 1] = redis.call('HGET', p .. 'stepidx', id) or ''
  out[#out + 1] = redis.call('GET', p .. 'task:' .. id) or ''
end
return out
