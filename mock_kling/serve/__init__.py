"""Running the fake: the production server, the thread server for fixtures, in-process transports
and persistence."""
