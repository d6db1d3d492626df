-- Shared by every script of the Redis store (prepended to each). KEYS[1] is the namespace's key
-- prefix "mock-kling:{namespace}:": its hash tag routes the script to the slot that holds every
-- key of the namespace (Redis Cluster), and every key a script touches starts with it.
local p = KEYS[1]

-- A change that must happen once gets KEYS[2], a key of its own: redis-py sends a command again
-- when its connection failed, and the first send may have run; the second then answers what the
-- first did instead of changing anything twice. (Kept 30 s: far longer than a retry takes.)
local function replayed()
  if KEYS[2] then return redis.call('GET', KEYS[2]) end
  return false
end

local function remember(answer)
  if KEYS[2] then redis.call('SET', KEYS[2], answer, 'PX', 30000) end
  return answer
end

-- The Redis server's clock in ms: the one clock every replica's leases are measured on.
local function server_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- An account's usage is kept in two parts: P usage (a hash of JSON by account) and P usagelog:<account>
-- (the tasks counted since, each one JSON, appended by commits that did not compare the usage).
-- As a commit compares it: "<number of tasks counted since>|<the JSON or ''>".
local function usage_as_read(account)
  local stored = redis.call('HGET', p .. 'usage', account) or ''
  return redis.call('LLEN', p .. 'usagelog:' .. account) .. '|' .. stored
end

-- Some stored task has `value` as its task id or video id.
local function id_taken(value)
  return redis.call('EXISTS', p .. 'task:' .. value) == 1
    or redis.call('HEXISTS', p .. 'video', value) == 1
end

-- Insert a task with its indexes. 1: added; 0: its task id or video id is taken; 2: `unique_ext`
-- and the account has a task with this external id. Nothing is written unless 1.
local function add_task(id, account, text, external, video, first_step_ms, unique_ext)
  if id_taken(id) or (video ~= id and id_taken(video)) then return 0 end
  if unique_ext and external ~= ''
    and redis.call('HEXISTS', p .. 'ext:' .. account, external) == 1 then
    return 2
  end
  redis.call('SET', p .. 'task:' .. id, text)
  local seq = redis.call('INCR', p .. 'taskseq')
  redis.call('ZADD', p .. 'order:' .. account, seq, id)
  redis.call('ZADD', p .. 'all', seq, id)
  if external ~= '' then redis.call('HSET', p .. 'ext:' .. account, external, id) end
  redis.call('HSET', p .. 'video', video, id)
  redis.call('HSET', p .. 'stepidx', id, 1)
  if first_step_ms ~= '' then redis.call('ZADD', p .. 'steps', first_step_ms, id) end
  return 1
end

-- Append a delivery to its task's queue; a new unclaimed head becomes due.
local function add_delivery(id, text, due_ms)
  local n = redis.call('RPUSH', p .. 'q:' .. id, text)
  redis.call('INCR', p .. 'pending')
  if n == 1 and redis.call('HEXISTS', p .. 'claims', id) == 0 then
    redis.call('ZADD', p .. 'due', due_ms, id)
  end
end

-- The head of a task's queue as its JSON decoded (or nil).
local function head_of(id)
  local head = redis.call('LINDEX', p .. 'q:' .. id, 0)
  return head and cjson.decode(head)
end
