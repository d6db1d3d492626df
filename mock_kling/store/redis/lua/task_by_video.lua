-- ARGV: video id. The JSON of the task whose result video it is, or false.
local id = redis.call('HGET', p .. 'video', ARGV[1])
if not id then return false end
return redis.call('GET', p .. 'task:' .. id)
