-- ARGV: id. 1 when a task has it as its task id or video id, else 0.
if id_taken(ARGV[1]) then return 1 end
return 0
