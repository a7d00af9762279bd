"""Tests of the TUI (esctui.ui), with Textual's Pilot."""
