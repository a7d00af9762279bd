"""Keys remapped by the user: the ``[keys]`` table of ``config.toml`` in the config folder.

    [keys]
    "documents.new" = "a"          # one key
    "images.move_up" = "K,ctrl+up" # several, comma-separated

Every binding of the app has a stable id, named after what it does (``BINDING_IDS``); Textual's
``App.set_keymap`` gives it the keys of the file. An entry that names no binding, or a key
Textual cannot read, is left out and said in a sentence when the app starts; the app never
fails over its keymap.
"""

from __future__ import annotations

import tomllib
import unicodedata
from pathlib import Path

from textual.keys import KEY_NAME_REPLACEMENTS, KEY_TO_UNICODE_NAME, Keys

CONFIG_FILE = "config.toml"
KEYS_TABLE = "keys"

# The ids of every binding (tests/ui/test_keymap.py checks them against the screens' BINDINGS).
BINDING_IDS = frozenset(
    {
        # everywhere
        "app.help",
        "app.jobs",
        "app.quit",
        "table.first_row",
        "table.last_row",
        # Documents
        "documents.open",
        "documents.new",
        "documents.edit",
        "documents.rename",
        "documents.describe",
        "documents.delete",
        "documents.import",
        "documents.jobs",
        "documents.models",
        "documents.quit",
        "documents.remotes",
        "documents.push",
        # Images (the pages of a document)
        "images.back",
        "images.open_page",
        "images.import",
        "images.mark",
        "images.move_up",
        "images.move_down",
        "images.delete",
        "images.versions",
        "images.export",
        "images.masks",
        "images.segment",
        "images.transcribe",
        "images.describe",
        "images.jobs",
        # Page, Versions, Compare
        "page.back",
        "page.previous",
        "page.next",
        "page.next_version",
        "page.pick_version",
        "page.layout_panel",
        "page.history",
        "line_history.restore",
        "line_history.close",
        "versions.back",
        "versions.rename",
        "versions.delete",
        "versions.compare",
        "compare.back",
        "compare.next_difference",
        "compare.previous",
        "compare.next",
        # Jobs, Models
        "jobs.back",
        "jobs.cancel",
        "jobs.refresh",
        "models.back",
        "models.upload",
        "models.rename",
        "models.delete",
        # Remotes (eScriptorium servers, their projects and documents), Push
        "remotes.open",
        "remotes.back",
        "remotes.add",
        "remotes.remove",
        "remotes.check",
        "remote_projects.open",
        "remote_projects.back",
        "remote_documents.back",
        "remote_documents.pull",
        "remote_documents.segment",
        "remote_documents.transcribe",
        "add_server.save",
        "add_server.cancel",
        "push.start",
        "push.cancel",
        "pull.start",
        "pull.cancel",
        # dialogs
        "confirm.yes",
        "confirm.no",
        "prompt.ok",
        "prompt.cancel",
        "choice.choose",
        "choice.cancel",
        "document_form.save",
        "document_form.cancel",
        "description.save",
        "description.cancel",
        "help.close",
        "progress.cancel",
        "progress.background",
        "progress.close",
        "progress.report",
        "export.start",
        "export.cancel",
        "kraken_run.start",
        "kraken_run.cancel",
        "xml_import.start",
        "xml_import.cancel",
        "xml_import.override",
        "xml_import.assign",
        "xml_import.match",
        "page_picker.choose",
        "page_picker.cancel",
        "page_picker.down",
        "page_picker.up",
        "iiif_import.cancel",
        "pdf_options.start",
        "pdf_options.cancel",
        "file_picker.select",
        "file_picker.cancel",
        "file_picker.add_folder",
        "file_picker.path",
        "file_picker.up",
        "file_picker.clear",
        "file_picker.import",
        "file_picker.option",
    }
)

MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
_NAMED_KEYS = frozenset(
    {key.value.rsplit("+", 1)[-1] for key in Keys}
    | set(KEY_TO_UNICODE_NAME)
    | set(KEY_NAME_REPLACEMENTS.values())
    | {"space", "tab", "enter", "backspace", "delete", "insert", "escape"}
)


def config_file(folder: Path) -> Path:
    return folder / CONFIG_FILE


def key_is_valid(key: str) -> bool:
    """Whether Textual can read ``key``: a character or a key name ("f5", "pageup",
    "question_mark"), after modifiers such as "ctrl+" or "shift+"."""
    *modifiers, base = key.strip().split("+") if key.strip() != "+" else ["+"]
    if any(m not in MODIFIERS for m in modifiers) or not base:
        return False
    if len(base) == 1:
        return base.isprintable() and not base.isspace()
    if base in _NAMED_KEYS:
        return True
    try:  # a character by its Unicode name, as Textual names them: "left_curly_bracket"
        unicodedata.lookup(base.replace("_", " "))
    except KeyError:
        return False
    return True


def read_keymap(folder: Path) -> tuple[dict[str, str], list[str]]:
    """The valid entries of the ``[keys]`` table of ``folder/config.toml`` (binding id ->
    keys), and a sentence for each entry left out. No file: no entries, nothing to say."""
    path = config_file(folder)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, []
    except (OSError, UnicodeDecodeError) as error:
        return {}, [f"The key settings in {path} cannot be read ({error}); the usual keys apply."]
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return {}, [f"{path} is not valid TOML ({error}); the usual keys apply."]
    table = config.get(KEYS_TABLE, {})
    if not isinstance(table, dict):
        return {}, [f"In {path}, [{KEYS_TABLE}] must be a table of 'id = \"key\"' lines."]
    keymap: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, keys in table.items():
        if binding_id not in BINDING_IDS:
            problems.append(
                f"In {path}, '{binding_id}' is not a key of esctui (see the README for the "
                "names); it was left out."
            )
            continue
        wrong = (
            [str(keys)]
            if not isinstance(keys, str) or not keys.strip()
            else [key for key in keys.split(",") if not key_is_valid(key)]
        )
        if wrong:
            problems.append(
                f"In {path}, '{wrong[0]}' for '{binding_id}' is not a key esctui can read "
                '(e.g. "a", "A", "f5", "ctrl+e"); the usual key is kept.'
            )
            continue
        keymap[binding_id] = ",".join(key.strip() for key in keys.split(","))
    return keymap, problems
