"""Network access: the shared HTTP transport (http.py) and the eScriptorium client. No store."""
