"""Test support: the pytest plugin (fixtures only), the KlingFake handle and a callback receiver."""
