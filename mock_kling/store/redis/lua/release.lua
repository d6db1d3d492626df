-- Shared by put_back and finish (prepended to them). ARGV: task id, the claim's token, seq.
-- Releases the claim when it is still that claim (a lapsed one, even re-claimed by the same
-- replica, holds nothing) and goes on when the head's seq is ARGV[3]; else returns 0 (a lost
-- claim, a reset or a cancel meanwhile).
local id = ARGV[1]
local q = p .. 'q:' .. id
if redis.call('HGET', p .. 'claims', id) ~= ARGV[2] then return 0 end
redis.call('HDEL', p .. 'claims', id)
redis.call('ZREM', p .. 'leases', id)
local head = head_of(id)
if not head then return 0 end
if head.seq ~= tonumber(ARGV[3]) then
  redis.call('ZADD', p .. 'due', head.due_ms, id)
  return 0
end
