"""The hostile-input corpus: data, replayed by tests/test_hostile.py."""
