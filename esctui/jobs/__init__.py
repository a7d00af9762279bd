"""Jobs: async work that changes the store or writes files, with progress, cancel and a report.

``runner`` runs any job kind as a recorded job (the TUI and the CLI both call ``run_job``);
each kind lives by what it does: ``imports`` (images, pdf, iiif, xml), ``export``, ``masks``,
``models``. No Textual here; heavy libraries are imported when a job runs.
"""
