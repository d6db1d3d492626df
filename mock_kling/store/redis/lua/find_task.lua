-- ARGV: account, task id or external id. The account's task (its JSON) by task id, or else by
-- external id, or false (the account's tasks are those in its order zset).
local account, ref = ARGV[1], ARGV[2]
local id = ref
if not redis.call('ZSCORE', p .. 'order:' .. account, ref) then
  id = redis.call('HGET', p .. 'ext:' .. account, ref)
  if not id then return false end
end
return redis.call('GET', p .. 'task:' .. id)
