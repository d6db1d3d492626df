-- Delete every key of the namespace (those of other namespaces stay), in one atomic step.
local cursor, deleted = '0', 0
repeat
  local found = redis.call('SCAN', cursor, 'MATCH', p .. '*', 'COUNT', 1000)
  cursor = found[1]
  if #found[2] > 0 then deleted = deleted + redis.call('UNLINK', unpack(found[2])) end
until cursor == '0'
return deleted
