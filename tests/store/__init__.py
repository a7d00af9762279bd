"""Tests of esctui.store."""
