"""The version of mock-kling (read by the build too)."""

__version__ = "0.1.0"
