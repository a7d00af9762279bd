"""Tests of esctui.net: IIIF over HTTP against a real local server."""
