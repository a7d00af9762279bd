"""Network access: fetching documents and images over HTTP (no store, no Textual)."""
