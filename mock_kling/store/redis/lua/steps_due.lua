-- ARGV: now (fake ms), hold (real ms). The tasks with a step due by then that no other replica
-- is announcing, flat: id, its due time, its next unannounced step's index, the task's JSON.
-- Each is held for this caller for `hold` ms (the Redis server's clock), so that other
-- replicas skip it meanwhile instead of reading it too; steps_announce releases the hold, and
-- it lapses by itself when its holder died. (The hold saves work only: steps_announce checks
-- that nobody announced the task meanwhile.)
local ms = server_ms()
local found = redis.call('ZRANGEBYSCORE', p .. 'steps', '-inf', ARGV[1], 'WITHSCORES')
local out = {}
for i = 1, #found, 2 do
  local id = found[i]
  local held = tonumber(redis.call('ZSCORE', p .. 'stepholds', id))
  if not held or held <= ms then
    redis.call('ZADD', p .. 'stepholds', ms + tonumber(ARGV[2]), id)
    out[#out + 1] = id
    out[#out + 1] = found[i + 1]
    out[#out + 1] = redis.call('HGET', p .. 'stepidx', id) or ''
    out[#out + 1] = redis.call('GET', p .. 'task:' .. id) or ''
  end
end
return out
