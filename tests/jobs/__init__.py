"""Tests of esctui.jobs: the runner, the export, masks and models."""
