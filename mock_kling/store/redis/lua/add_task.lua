-- ARGV: task id, account, task JSON, external id or "", video id, first step's time or "".
-- 1: added; 0: the task id or video id is taken (nothing is written). Once (KEYS[2]).
local again = replayed()
if again then return tonumber(again) end
return remember(add_task(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], false))
