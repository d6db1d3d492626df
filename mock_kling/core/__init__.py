"""The domain, free of I/O: clock, ids, errors, config, auth, images, wire shapes, tasks and their
outcome plans, limits, faults, journals, create-request rules, the Store protocol and the Backend
(the one door to what the fake remembers). Imports no other layer of mock_kling."""
