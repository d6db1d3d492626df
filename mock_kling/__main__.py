"""`python -m mock_kling` runs the `mock-kling` command."""

from .cli import main

main()
