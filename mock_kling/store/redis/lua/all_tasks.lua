-- Every task's JSON, newest first.
local ids = redis.call('ZREVRANGE', p .. 'all', 0, -1)
local out = {}
for start = 1, #ids, 1000 do
  local keys = {}
  for i = start, math.min(start + 999, #ids) do keys[#keys + 1] = p .. 'task:' .. ids[i] end
  for _, text in ipairs(redis.call('MGET', unpack(keys))) do
    if text then out[#out + 1] = text end
  end
end
return out
