"""Tests of esctui.cli: the headless commands, run as real processes."""
