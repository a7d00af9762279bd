"""The Models screen: kraken models owned by or shared with the user; upload, rename, delete."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Header, Static

from esctui.domain import Model
from esctui.domain.text import human_size
from esctui.ui.messages import JobFinished
from esctui.ui.screens.dialogs import ConfirmScreen, TextPromptScreen
from esctui.ui.screens.lists import ListScreen
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.tables import Row, RowTable
from esctui.ui.widgets.text import cell, quoted, safe

MODEL_SUFFIXES = frozenset({".mlmodel", ".safetensors"})
ALPHABET_SAMPLE = 60

# Keys of a net record shown by name, in this order; any other key is shown after them.
NET_FIELDS: list[tuple[str, str]] = [
    ("model_class", "class"),
    ("tasks", "tasks"),
    ("seg_type", "seg type"),
    ("one_channel_mode", "one-channel mode"),
    ("legacy_polygons", "legacy polygons"),
    ("min_kraken_version", "min kraken"),
    ("parameters", "parameters"),
]
TRAINING_FIELDS: list[tuple[str, str]] = [
    ("name", "name"),
    ("accuracy", "accuracy"),
    ("epochs", "epochs"),
    ("license", "license"),
    ("authors", "authors"),
    ("description", "description"),
    ("scripts", "scripts"),
    ("languages", "languages"),
]


def _value(value: Any) -> str:
    """A metadata value in plain words (markup escaped)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return safe(", ".join(str(v) for v in value)) if value else "—"
    if isinstance(value, dict):
        return safe(", ".join(f"{k}={v}" for k, v in value.items())) if value else "—"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return f"{value:,}"
    return safe(str(value))


def _alphabet(alphabet: str) -> str:
    shown = alphabet[:ALPHABET_SAMPLE].replace(" ", "␣").replace("\t", "⇥").replace("\n", "⏎")
    more = f" … (+{len(alphabet) - ALPHABET_SAMPLE})" if len(alphabet) > ALPHABET_SAMPLE else ""
    return f"{len(alphabet)} characters: {safe(shown)}{more}"


def describe_net(net: dict[str, Any]) -> list[str]:
    """Rich-markup lines for one network of a model file."""
    lines = [f"[b]── {safe(str(net.get('kind', 'unknown')))} net[/b]"]
    shown = {"kind", "vgsl", "classes", "alphabet", "training"}
    for key, label in NET_FIELDS:
        if key in net:
            shown.add(key)
            lines.append(f"{label}: {_value(net[key])}")
    for key, value in net.items():
        if key not in shown:
            lines.append(f"{safe(key.replace('_', ' '))}: {_value(value)}")
    classes = net.get("classes") or {}
    if classes:
        lines.append("classes:")
        lines.extend(f"  {safe(str(k))}: {_value(v)}" for k, v in classes.items())
    if net.get("alphabet"):
        lines.append(f"alphabet: {_alphabet(str(net['alphabet']))}")
    if net.get("vgsl"):
        lines.append(f"VGSL: {safe(str(net['vgsl']))}")
    training = net.get("training") or {}
    if isinstance(training, dict) and training:
        lines.append("[b]training[/b]")
        seen = {"hyper_params"}
        for key, label in TRAINING_FIELDS:
            if key not in training:
                continue
            seen.add(key)
            value = training[key]
            if value in (None, [], ""):
                continue
            if key == "accuracy" and isinstance(value, int | float):
                lines.append(f"  accuracy: {value * 100:.2f} %")
            else:
                lines.append(f"  {label}: {_value(value)}")
        for key, value in training.items():
            if key not in seen and value not in (None, [], "", {}):
                lines.append(f"  {safe(key.replace('_', ' '))}: {_value(value)}")
        hyper = training.get("hyper_params") or {}
        if hyper:
            lines.append("  hyper-parameters:")
            lines.extend(f"    {safe(str(k))}: {_value(v)}" for k, v in hyper.items())
    return lines


def describe_model(model: Model, user: str) -> str:
    """Everything stored about a model, as Rich markup for the side panel."""
    meta = model.metadata or {}
    owner = "you" if model.owner == user else model.owner
    lines = [
        f"[b]{safe(model.name)}[/b]",
        f"file: {safe(model.original_filename)}",
        f"format: {_value(meta.get('format'))}",
        f"size: {human_size(model.byte_size)}",
        f"SHA-256: {model.sha256}",
        f"owner: {safe(owner)}",
        f"shared with: {_value(model.shared_with) if model.shared_with else 'nobody'}",
        f"uploaded: {dt.datetime.fromtimestamp(model.created).strftime('%Y-%m-%d %H:%M')}",
    ]
    if meta.get("kraken_version"):
        lines.append(f"checked with kraken {safe(str(meta['kraken_version']))}")
    for key, value in meta.items():
        if key not in {"format", "nets", "notes", "kraken_version"}:
            lines.append(f"{safe(key.replace('_', ' '))}: {_value(value)}")
    for net in meta.get("nets") or []:
        if isinstance(net, dict):
            lines.append("")
            lines.extend(describe_net(net))
    notes = meta.get("notes") or []
    if notes:
        lines.append("")
        lines.append("[b]notes[/b]")
        lines.extend(f"• {safe(str(n))}" for n in notes)
    return "\n".join(lines)


class ModelsScreen(ListScreen[list[Model], Model]):
    """List models, show what kraken says about the selected one, upload, rename, delete."""

    DEFAULT_CSS = "#model-status { height: auto; padding: 0 1; color: $warning; }"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="models.back"),
        Binding("u", "upload", "Upload", id="models.upload"),
        Binding("r", "rename", "Rename", id="models.rename"),
        Binding("delete,x", "delete", "Delete", key_display="x", id="models.delete"),
    ]
    EMPTY = "No models yet. Press u to upload a kraken model (.mlmodel, .safetensors)."

    def __init__(self) -> None:
        super().__init__()
        self.upload_job_id: str | None = None  # the running upload's job

    @property
    def models(self) -> list[Model]:
        return self.items

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Models", classes="title")
        yield Static("", id="model-status")
        with Horizontal():
            with Vertical():
                yield RowTable(id="models")
                yield Static("", id="empty", classes="empty")
            with VerticalScroll(classes="side panel", id="model-panel"):
                yield Static("", id="model-info")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#model-status", Static).display = False
        self.query_one("#model-panel").border_title = "Details · Tab to scroll"
        self.table.add_columns("Name", "Kind", "Access")
        self.reload()

    def load(self) -> list[Model]:
        return self.store.list_models()

    def listed(self, loaded: list[Model]) -> list[Model]:
        return loaded

    def row(self, model: Model) -> Row:
        access = "owner" if model.owner == self.store.user else f"from {model.owner}"
        return Row(model.id, (cell(model.name, 30), cell(", ".join(model.kinds)), cell(access)))

    def shown(self) -> None:
        self.show_info()

    def selected_model(self) -> Model | None:
        return self.selected_item()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_info()

    def show_info(self) -> None:
        model = self.selected_model()
        info = self.query_one("#model-info", Static)
        info.update("" if model is None else describe_model(model, self.store.user))
        self.query_one("#model-panel", VerticalScroll).scroll_home(animate=False)

    def _set_status(self, text: str) -> None:
        status = self.query_one("#model-status", Static)
        status.update(text)
        status.display = bool(text)

    # ------------------------------------------------------------------ upload

    @property
    def uploading(self) -> bool:
        return self.upload_job_id is not None

    def action_upload(self) -> None:
        if self.uploading:
            self.notify("A model is still being validated; wait for it to finish.")
            return
        from esctui.ui.screens.file_picker import FilePickerScreen

        def picked(paths: list[Path] | None) -> None:
            if not paths:
                return
            path = paths[0]

            def named(name: str | None) -> None:
                if name is not None:
                    self.start_upload(path, name.strip() or None)

            self.app.push_screen(
                TextPromptScreen(
                    f"Name for {safe(path.name)}",
                    placeholder="empty: the model's own name",
                    hint="Leave empty to use the name stored in the model (or its file name).",
                ),
                named,
            )

        self.app.push_screen(
            FilePickerScreen("Upload a kraken model", suffixes=MODEL_SUFFIXES, multiple=False),
            picked,
        )

    def start_upload(self, path: Path, name: str | None) -> None:
        """Validate and store the model as a background job (listed on the Jobs screen)."""
        from esctui.jobs.models import ModelUpload

        upload = ModelUpload(self.store, path, name=name)  # reads nothing yet
        self._set_status(f"Validating {safe(path.name)} with kraken … (takes a few seconds)")
        running = self.app.start_job(upload, show_progress=False)
        self.upload_job_id = running.job_id

    def on_job_finished(self, message: JobFinished) -> None:
        """The app says how the upload ended; here the list shows the new model."""
        if message.job.id != self.upload_job_id:
            return
        self.upload_job_id = None
        self._set_status("")
        uploaded = [item.name for item in message.job.report.imported]

        def show(models: list[Model]) -> None:
            newest = max(
                (m for m in models if m.name in uploaded), key=lambda m: m.created, default=None
            )
            self.show_items(models, select=newest.id if newest else None)

        self.store_call(
            self.load, show, group=self.RELOAD_GROUP, failed=self.load_failed, hold_keys=False
        )

    # ------------------------------------------------------------------ rename, delete

    def _owned(self, model: Model, verb: str) -> bool:
        if model.owner == self.store.user:
            return True
        self.notify(
            f"The model {quoted(model.name)} belongs to {safe(model.owner)}; "
            f"only they can {verb} it.",
            severity="error",
        )
        return False

    def action_rename(self) -> None:
        model = self.selected_model()
        if model is None or not self._owned(model, "rename"):
            return

        store = self.store

        def rename(name: str) -> None:  # in the dialog's thread
            if name.strip() != model.name:
                store.update_model(model.id, name=name)

        def renamed(name: str | None) -> None:
            if name is not None and name.strip() != model.name:
                self.notify(f"Renamed to {quoted(name.strip())}.")
                self.reload(select=model.id)

        from esctui.ui.screens.dialogs import NAME_RULE

        self.app.push_screen(
            TextPromptScreen(
                f"New name for {quoted(model.name)}",
                model.name,
                hint=NAME_RULE.replace("in this data folder", "among your models"),
                apply=rename,
            ),
            renamed,
        )

    def action_delete(self) -> None:
        model = self.selected_model()
        if model is None or not self._owned(model, "delete"):
            return

        store = self.store

        def deleted(_: None) -> None:
            self.notify(f"Deleted the model {quoted(model.name)}.")
            self.reload()

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.store_call(lambda: store.delete_model(model.id), deleted)

        shared = (
            f" It is shared with {safe(', '.join(model.shared_with))}." if model.shared_with else ""
        )
        self.app.push_screen(
            ConfirmScreen(
                f"Delete the model {quoted(model.name)} and its file?{shared}", yes_label="Delete"
            ),
            confirmed,
        )

    def palette_commands(self) -> list[SystemCommand]:
        return [
            SystemCommand("Upload model", "Validate and add a kraken model", self.action_upload),
            SystemCommand("Rename model", "Rename the selected model", self.action_rename),
            SystemCommand("Delete model", "Delete the selected model", self.action_delete),
        ]
