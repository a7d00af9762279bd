"""Persistence: TinyDB files and page images in one data folder (no Textual here)."""

from esctui.store.location import default_data_dir, resolve_data_dir
from esctui.store.store import SCHEMA_VERSION, PageLayout, StagedFile, Store

__all__ = [
    "SCHEMA_VERSION",
    "PageLayout",
    "StagedFile",
    "Store",
    "default_data_dir",
    "resolve_data_dir",
]
