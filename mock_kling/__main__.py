"""`python -m mock_kling` runs the `mock-kling` command."""

from mock_kling.cli import main

main()
