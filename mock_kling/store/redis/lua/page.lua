-- ARGV: account, first rank, last rank (newest first). Returns the tasks' JSON.
local ids = redis.call('ZREVRANGE', p .. 'order:' .. ARGV[1], ARGV[2], ARGV[3])
if #ids == 0 then return {} end
for i, id in ipairs(ids) do ids[i] = p .. 'task:' .. id end
return redis.call('MGET', unpack(ids))
