"""Callback delivery: the HTTP sender, the per-task queue with its retry
plan, the journal record."""
