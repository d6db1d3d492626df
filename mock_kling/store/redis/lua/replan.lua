-- ARGV: task id, the re-planned task's JSON, then per step index i = 1..n two arguments: "1"
-- when announcements go on after step i (it is not terminal) else "0", and when step i + 1
-- falls due, or "" (none to announce). The task's next unannounced step stays the same index;
-- its due time follows the new plan.
local id = ARGV[1]
redis.call('SET', p .. 'task:' .. id, ARGV[2])
local index = tonumber(redis.call('HGET', p .. 'stepidx', id))
if not index then return 0 end
local goes_on, next_ms = ARGV[1 + 2 * index], ARGV[2 + 2 * index]
if goes_on == '0' then redis.call('HDEL', p .. 'stepidx', id) end
if next_ms and next_ms ~= '' then
  redis.call('ZADD', p .. 'steps', next_ms, id)
else
  redis.call('ZREM', p .. 'steps', id)
end
return 1
