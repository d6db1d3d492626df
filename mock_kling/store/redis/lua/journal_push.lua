-- ARGV: journal name, entry JSON, limit. Newest first; the list may hold up to limit // 8 + 1
-- entries more than `limit` (readers take the newest `limit`): trimmed when it goes past that.
local key = p .. ARGV[1]
local limit = tonumber(ARGV[3])
if redis.call('LPUSH', key, ARGV[2]) > limit + math.floor(limit / 8) + 1 then
  redis.call('LTRIM', key, 0, limit - 1)
end
