"""What the suite checks: named checks on answers, the lifecycle state machine, a task's history,
round trips, callback deliveries, and probes of the open questions."""
