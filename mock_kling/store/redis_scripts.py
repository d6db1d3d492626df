"""The Redis store's Lua scripts: each is one atomic step that two replicas could otherwise race
on (adding a task, the callback queue's claim / put back / finish / cancel, a page of tasks), or
a group of reads done in one round trip (finding a task, an id's use, what admits a request).
Every script takes the store's key prefix as ARGV[1]; the keys are described in `redis.py`."""

from __future__ import annotations

# ARGV: prefix, task id, account, task JSON, external id or "", video id, first step's time or "".
# Returns 0 when the task id is taken (nothing is written), 1 otherwise.
ADD_TASK = """
local p, id, account = ARGV[1], ARGV[2], ARGV[3]
if not redis.call('SET', p .. 'task:' .. id, ARGV[4], 'NX') then return 0 end
local seq = redis.call('INCR', p .. 'taskseq')
redis.call('ZADD', p .. 'order:' .. account, seq, id)
redis.call('ZADD', p .. 'all', seq, id)
if ARGV[5] ~= '' then redis.call('HSET', p .. 'ext:' .. account, ARGV[5], id) end
redis.call('HSET', p .. 'video', ARGV[6], id)
redis.call('HSET', p .. 'stepidx', id, 1)
if ARGV[7] ~= '' then redis.call('ZADD', p .. 'steps', ARGV[7], id) end
return 1
"""

# ARGV: prefix, account, first rank, last rank (newest first). Returns the tasks' JSON.
PAGE = """
local ids = redis.call('ZREVRANGE', ARGV[1] .. 'order:' .. ARGV[2], ARGV[3], ARGV[4])
if #ids == 0 then return {} end
for i, id in ipairs(ids) do ids[i] = ARGV[1] .. 'task:' .. id end
return redis.call('MGET', unpack(ids))
"""

# ARGV: prefix, account, task id or external id. The account's task (its JSON) by task id, or
# else by external id, or false: `find_task` in one round trip (the account's tasks are those in
# its order zset).
FIND_TASK = """
local p, account, ref = ARGV[1], ARGV[2], ARGV[3]
local id = ref
if not redis.call('ZSCORE', p .. 'order:' .. account, ref) then
  id = redis.call('HGET', p .. 'ext:' .. account, ref)
  if not id then return false end
end
return redis.call('GET', p .. 'task:' .. id)
"""

# ARGV: prefix, id. 1 when a task has it as its task id or video id, else 0.
ID_TAKEN = """
if redis.call('EXISTS', ARGV[1] .. 'task:' .. ARGV[2]) == 1 then return 1 end
return redis.call('HEXISTS', ARGV[1] .. 'video', ARGV[2])
"""

# ARGV: prefix, account. {fault rules' JSON or false, the account's limits' JSON or false}.
ADMISSION = """
local p = ARGV[1]
return {redis.call('GET', p .. 'fault_rules'), redis.call('HGET', p .. 'limits', ARGV[2])}
"""

# ARGV: prefix, task id, delivery JSON, its due time.
ADD_DELIVERY = """
local p, id = ARGV[1], ARGV[2]
local n = redis.call('RPUSH', p .. 'q:' .. id, ARGV[3])
redis.call('INCR', p .. 'pending')
if n == 1 and redis.call('HEXISTS', p .. 'claims', id) == 0 then
  redis.call('ZADD', p .. 'due', ARGV[4], id)
end
"""

# The Redis server's clock in ms (`ms`): the one clock every replica's leases are measured on.
_SERVER_MS = """
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# ARGV: prefix, now (fake ms), claim token (new for every claim), lease (real ms), limit. Leases
# past their end (the Redis server's clock) are taken back first: a replica that died
# mid-delivery loses its claims. Claims at most `limit` heads, the earliest due first.
# Returns the claimed heads' JSON and the ids of the tasks taken over.
CLAIM_DUE = (
    _SERVER_MS
    + """
local p, token = ARGV[1], ARGV[3]
for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. 'leases', '-inf', ms)) do
  redis.call('ZREM', p .. 'leases', id)
  redis.call('HDEL', p .. 'claims', id)
  local head = redis.call('LINDEX', p .. 'q:' .. id, 0)
  if head then
    redis.call('ZADD', p .. 'due', cjson.decode(head).due_ms, id)
    redis.call('SADD', p .. 'takeover', id)
  end
end
local ids = redis.call('ZRANGEBYSCORE', p .. 'due', '-inf', ARGV[2], 'LIMIT', 0, ARGV[5])
local heads, taken = {}, {}
for i, id in ipairs(ids) do
  redis.call('ZREM', p .. 'due', id)
  redis.call('HSET', p .. 'claims', id, token)
  redis.call('ZADD', p .. 'leases', ms + tonumber(ARGV[4]), id)
  heads[i] = redis.call('LINDEX', p .. 'q:' .. id, 0)
  if redis.call('SREM', p .. 'takeover', id) == 1 then taken[#taken + 1] = id end
end
return {heads, taken}
"""
)

# ARGV: prefix. The earliest due time of the heads that CLAIM_DUE would claim by that time: the
# unclaimed ones, and those whose claim's lease has ended (the Redis server's clock, as there),
# or false. Read only. (Due times are whole ms: the integer reply is exact.)
NEXT_DUE = (
    _SERVER_MS
    + """
local p = ARGV[1]
local first = redis.call('ZRANGE', p .. 'due', 0, 0, 'WITHSCORES')
local due = first[2] and tonumber(first[2])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. 'leases', '-inf', ms)) do
  local head = redis.call('LINDEX', p .. 'q:' .. id, 0)
  if head then
    local head_due = cjson.decode(head).due_ms
    if not due or head_due < due then due = head_due end
  end
end
if due then return due end
return false
"""
)

# Shared by PUT_BACK and FINISH: release the claim ARGV[3] of the task's queue when it is still
# that claim (a lapsed one, even re-claimed by the same replica, holds nothing), and go on when
# the head's seq is ARGV[4]; else 0 (a lost claim, a reset or a cancel meanwhile).
_RELEASE = """
local p, id = ARGV[1], ARGV[2]
local q = p .. 'q:' .. id
if redis.call('HGET', p .. 'claims', id) ~= ARGV[3] then return 0 end
redis.call('HDEL', p .. 'claims', id)
redis.call('ZREM', p .. 'leases', id)
local head = redis.call('LINDEX', q, 0)
if not head then return 0 end
if cjson.decode(head).seq ~= tonumber(ARGV[4]) then
  redis.call('ZADD', p .. 'due', cjson.decode(head).due_ms, id)
  return 0
end
"""

# ARGV: prefix, task id, the claim's token, seq, the new head's JSON, its due time.
PUT_BACK = (
    _RELEASE
    + """
redis.call('LSET', q, 0, ARGV[5])
redis.call('ZADD', p .. 'due', ARGV[6], id)
return 1
"""
)

# ARGV: prefix, task id, the claim's token, seq.
FINISH = (
    _RELEASE
    + """
redis.call('LPOP', q)
redis.call('DECR', p .. 'pending')
local next_head = redis.call('LINDEX', q, 0)
if next_head then redis.call('ZADD', p .. 'due', cjson.decode(next_head).due_ms, id) end
return 1
"""
)

# ARGV: prefix, task id, after (ms). Keeps started notifications, a claimed head and those
# enqueued as due by `after`.
CANCEL = """
local p, id = ARGV[1], ARGV[2]
local q = p .. 'q:' .. id
local items = redis.call('LRANGE', q, 0, -1)
if #items == 0 then return 0 end
local in_flight = redis.call('HEXISTS', p .. 'claims', id) == 1
local kept = {}
for i, item in ipairs(items) do
  local d = cjson.decode(item)
  if d.started or (i == 1 and in_flight) or d.enqueued_due_ms <= tonumber(ARGV[3]) then
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
"""

# KEYS: the lock. ARGV: the holder's token. Deletes the lock only when this holder has it.
UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
