"""Tests of the import jobs (esctui.jobs.imports)."""
