"""Store implementations: memory (the default), and later sqlite and redis."""
