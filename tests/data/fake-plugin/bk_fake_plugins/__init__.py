"""Fake third-party plugins, installed for tests through a checked-in dist-info."""
