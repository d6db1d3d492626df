"""The contract suite as a library (checks, budget, transport, target, strategies, reports) and its
pytest plugin."""
