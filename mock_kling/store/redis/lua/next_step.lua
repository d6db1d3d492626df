-- When the next unannounced step falls due (fake ms) among the tasks no replica holds
-- (steps_due), or false. Read only.
local ms = server_ms()
local start = 0
while true do
  local found = redis.call('ZRANGE', p .. 'steps', start, start + 99, 'WITHSCORES')
  if #found == 0 then return false end
  for i = 1, #found, 2 do
    local held = tonumber(redis.call('ZSCORE', p .. 'stepholds', found[i]))
    if not held or held <= ms then return math.floor(tonumber(found[i + 1])) end
  end
  start = start + 100
end
