-- ARGV: now (fake ms), claim token (new for every claim), lease (real ms), limit. Leases past
-- their end (the Redis server's clock) are taken back first: a replica that died mid-delivery
-- loses its claims. Claims at most `limit` heads, the earliest due first. Returns the claimed
-- heads' JSON and the ids of the tasks taken over.
local ms, token = server_ms(), ARGV[2]
for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. 'leases', '-inf', ms)) do
  redis.call('ZREM', p .. 'leases', id)
  redis.call('HDEL', p .. 'claims', id)
  local head = head_of(id)
  if head then
    redis.call('ZADD', p .. 'due', head.due_ms, id)
    redis.call('SADD', p .. 'takeover', id)
  end
end
local ids = redis.call('ZRANGEBYSCORE', p .. 'due', '-inf', ARGV[1], 'LIMIT', 0, ARGV[4])
local heads, taken = {}, {}
for i, id in ipairs(ids) do
  redis.call('ZREM', p .. 'due', id)
  redis.call('HSET', p .. 'claims', id, token)
  redis.call('ZADD', p .. 'leases', ms + tonumber(ARGV[3]), id)
  heads[i] = redis.call('LINDEX', p .. 'q:' .. id, 0)
  if redis.call('SREM', p .. 'takeover', id) == 1 then taken[#taken + 1] = id end
end
return {heads, taken}
