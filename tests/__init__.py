"""The tests: one folder per package of esctui (formats, net, store, jobs, cli, ui, compat)."""
