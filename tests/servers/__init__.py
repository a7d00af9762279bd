"""Servers the tests run against (a real IIIF server on 127.0.0.1)."""
