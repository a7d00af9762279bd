"""Jobs that read the store and write files (exports); the same job protocol as the importers."""
