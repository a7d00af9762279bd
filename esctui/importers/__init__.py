"""Import jobs: async services that fill the store and report progress (no Textual here)."""
