-- One check-and-change (Store.commit): facts compared with what the caller read, then every
-- write, all or nothing. ARGV:
--   1 account;
--   then five facts, 4 arguments each: mode ("" not part of this commit, "cas" checked and
--   written), the text as read, the text of the empty value (what an absent key reads as), the
--   new text. The facts: the account's usage (as read: see usage_as_read; written: the JSON,
--   the tasks counted before it dropped), fault rules, next outcomes, callback faults, the
--   account's limits;
--   22 a task counted in the account's usage without comparing (its JSON, appended to
--   P usagelog:<account>), or "";
--   23..27 the task ("" in 23: none): id, JSON, external id or "", video id, first step or "";
--   28.. deliveries, 3 arguments each: task id, JSON, due time.
-- Returns "done", "changed" (a fact is not as read), "id_taken" or "external_id_taken". Once
-- (KEYS[2]).
local again = replayed()
if again then return again end
local account = ARGV[1]
local facts = {
  {'USAGE', account},
  {'KEY', p .. 'fault_rules'},
  {'KEY', p .. 'next_outcomes'},
  {'KEY', p .. 'callback_faults'},
  {'HASH', p .. 'limits', account},
}
local function read(fact)
  if fact[1] == 'USAGE' then return usage_as_read(account) end
  if fact[1] == 'HASH' then return redis.call('HGET', fact[2], fact[3]) end
  return redis.call('GET', fact[2])
end
for i, fact in ipairs(facts) do
  local base = 2 + (i - 1) * 4
  if ARGV[base] == 'cas' then
    local stored = read(fact)
    if not stored then stored = ARGV[base + 2] end
    if stored ~= ARGV[base + 1] then return remember('changed') end
  end
end
if ARGV[23] ~= '' then
  local added = add_task(ARGV[23], account, ARGV[24], ARGV[25], ARGV[26], ARGV[27], true)
  if added == 0 then return remember('id_taken') end
  if added == 2 then return remember('external_id_taken') end
end
for i, fact in ipairs(facts) do
  local base = 2 + (i - 1) * 4
  if ARGV[base] == 'cas' then
    if fact[1] == 'USAGE' then
      redis.call('HSET', p .. 'usage', account, ARGV[base + 3])
      redis.call('DEL', p .. 'usagelog:' .. account)
    elseif fact[1] == 'HASH' then
      redis.call('HSET', fact[2], fact[3], ARGV[base + 3])
    else
      redis.call('SET', fact[2], ARGV[base + 3])
    end
  end
end
if ARGV[22] ~= '' then redis.call('RPUSH', p .. 'usagelog:' .. account, ARGV[22]) end
for i = 28, #ARGV, 3 do add_delivery(ARGV[i], ARGV[i + 1], ARGV[i + 2]) end
return remember('done')
