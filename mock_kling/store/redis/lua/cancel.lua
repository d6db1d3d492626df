-- ARGV: task id, after (ms). Keeps started notifications, a claimed head and those enqueued as
-- due by `after`; returns how many were dropped.
local id = ARGV[1]
local q = p .. 'q:' .. id
local items = redis.call('LRANGE', q, 0, -1)
if #items == 0 then return 0 end
local in_flight = redis.call('HEXISTS', p .. 'claims', id) == 1
local kept = {}
for i, item in ipairs(items) do
  local d = cjson.decode(item)
  if d.started or (i == 1 and in_flight) or d.enqueued_due_ms <= tonumber(ARGV[2]) then
    kept[#kept + 1] = item
  end
end
redis.call('DEL', q)
redis.call('DECRBY', p .. 'pending', #items - #kept)
if #kept > 0 then redis.call('RPUSH', q, unpack(kept)) end
if not in_flight then
  if #kept > 0 then
    redis.call('ZADD', p .. 'due', cjson.decode(kept[1]).due_ms, id)
  else
    redis.call('ZREM', p .. 'due', id)
  end
end
return #items - #kept
