-- ARGV: task id, delivery JSON, its due time.
add_delivery(ARGV[1], ARGV[2], ARGV[3])
