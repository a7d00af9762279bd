"""esctui."""
