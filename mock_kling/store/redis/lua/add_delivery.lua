-- ARGV: task id, delivery JSON, its due time. Once (KEYS[2]).
if replayed() then return 1 end
add_delivery(ARGV[1], ARGV[2], ARGV[3])
return remember(1)
