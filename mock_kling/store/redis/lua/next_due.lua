-- The earliest due time of the heads that claim_due would claim by that time: the unclaimed
-- ones, and those whose claim's lease has ended (the Redis server's clock, as there), or
-- false. Read only. (Due times are whole ms: the integer reply is exact.)
local ms = server_ms()
local first = redis.call('ZRANGE', p .. 'due', 0, 0, 'WITHSCORES')
local due = first[2] and tonumber(first[2])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. 'leases', '-inf', ms)) do
  local head = head_of(id)
  if head and (not due or head.due_ms < due) then due = head.due_ms end
end
if due then return due end
return false
