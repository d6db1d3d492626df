"""Running the fake: the production server, the thread server for fixtures and in-process
transports."""
