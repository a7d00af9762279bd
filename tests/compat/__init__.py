"""Tests of esctui.compat."""
