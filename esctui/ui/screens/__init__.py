"""Screens of the app; each lists its keys in BINDINGS so the footer and help show them."""
