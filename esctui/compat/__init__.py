"""Workarounds for third-party packages that do not fit together out of the box."""
