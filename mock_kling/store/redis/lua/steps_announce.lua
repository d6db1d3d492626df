-- ARGV: groups of five: task id, its due time and step index as read (steps_due), the index
-- after the steps announced now ("" when announcements end), the next step's due time or "".
-- A task whose due time or index changed since (another replica announced, a re-plan) is left
-- alone. Every hold steps_due took on these tasks is released. Returns the ids of the tasks
-- whose steps this caller announces.
local mine = {}
for i = 1, #ARGV, 5 do
  local id = ARGV[i]
  redis.call('ZREM', p .. 'stepholds', id)
  local due = redis.call('ZSCORE', p .. 'steps', id)
  local index = redis.call('HGET', p .. 'stepidx', id)
  if due and tonumber(due) == tonumber(ARGV[i + 1]) and index == ARGV[i + 2] then
    if ARGV[i + 3] == '' then
      redis.call('HDEL', p .. 'stepidx', id)
    else
      redis.call('HSET', p .. 'stepidx', id, ARGV[i + 3])
    end
    if ARGV[i + 4] == '' then
      redis.call('ZREM', p .. 'steps', id)
    else
      redis.call('ZADD', p .. 'steps', ARGV[i + 4], id)
    end
    mine[#mine + 1] = id
  end
end
return mine
