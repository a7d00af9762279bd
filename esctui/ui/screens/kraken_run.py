"""Segment and Transcribe (S and T on the Images screen): a model of the right kind from a list,
the job's options, then the kraken job on the marked pages (or all of them).

Nothing here loads kraken or torch: the dialog reads the store (the models, and kraken's blla
found by its path), and the jobs run kraken in the engine's worker processes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import Checkbox, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from esctui.domain import Model, ModelKind
from esctui.domain.errors import EsctuiError
from esctui.domain.text import plural
from esctui.jobs.kraken.choice import (
    DEFAULT_SEGMENTATION_NAME,
    default_segmentation_model,
    model_seg_type,
    models_of_kind,
)
from esctui.jobs.losses import replace_losses, replace_question
from esctui.store import Store
from esctui.ui.screens.base import EsctuiModalScreen, EsctuiScreen
from esctui.ui.screens.dialogs import ConfirmScreen
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.inputs import TextInput
from esctui.ui.widgets.text import safe

if TYPE_CHECKING:
    from esctui.engine.data import SegmentationContent
    from esctui.jobs.kraken.segment import Existing
    from esctui.jobs.runner import JobKind

JobT = TypeVar("JobT", bound="JobKind")

CONTENTS: list[tuple[str, SegmentationContent]] = [
    ("regions and lines", "both"),
    ("lines only", "lines"),
    ("regions only", "regions"),
]
EXISTING: list[tuple[str, Existing]] = [
    ("keep: skip pages that hold some", "keep"),
    ("replace it", "replace"),
    ("add the new after it", "add"),
]
SEG_TYPE_WORDS = {"baselines": "reads lines along baselines", "bbox": "reads box lines"}
NO_RECOGNITION_MODEL = (
    "No recognition model is stored yet: upload one on the Models screen (m on the Documents "
    "screen), then transcribe."
)
NO_SEGMENTATION_MODEL = (
    "kraken's default segmentation model is not installed and no segmentation model is "
    "stored: upload one on the Models screen (m on the Documents screen)."
)


@dataclass(frozen=True)
class ModelOption:
    """A model in the dialog's list: ``ref`` a stored model's id, None kraken's default."""

    ref: str | None
    name: str
    detail: str


def stored_option(model: Model, kind: ModelKind) -> ModelOption:
    seg_type = SEG_TYPE_WORDS.get(model_seg_type(model, kind) or "", "")
    return ModelOption(model.id, model.name, ", ".join(filter(None, [seg_type, model.owner])))


def segmentation_options(store: Store) -> list[ModelOption]:
    """kraken's default model first (when installed), then the stored segmentation models."""
    options = [
        stored_option(m, ModelKind.SEGMENTATION)
        for m in models_of_kind(store, ModelKind.SEGMENTATION)
    ]
    try:
        default_segmentation_model()
    except EsctuiError:  # not installed: the stored ones only
        return options
    return [ModelOption(None, DEFAULT_SEGMENTATION_NAME, "kraken's own, always there"), *options]


def recognition_options(store: Store) -> list[ModelOption]:
    return [
        stored_option(m, ModelKind.RECOGNITION)
        for m in models_of_kind(store, ModelKind.RECOGNITION)
    ]


def pages_scope(part_ids: list[str] | None, page_count: int) -> str:
    """'the 2 marked pages', 'the only page', 'all 12 pages'."""
    if part_ids:
        return f"the {plural(len(part_ids), 'marked page')}"
    return "the only page" if page_count == 1 else f"all {plural(page_count, 'page')}"


def open_segment_dialog(
    screen: EsctuiScreen, document_id: str, page_count: int, marked_ids: list[str]
) -> None:
    """Read the segmentation models (in a thread), then show the Segment dialog."""
    _open_dialog(
        screen, "segment", segmentation_options, SegmentScreen, document_id, page_count, marked_ids
    )


def open_transcribe_dialog(
    screen: EsctuiScreen, document_id: str, page_count: int, marked_ids: list[str]
) -> None:
    """Read the recognition models (in a thread), then show the Transcribe dialog."""
    _open_dialog(
        screen,
        "transcribe",
        recognition_options,
        TranscribeScreen,
        document_id,
        page_count,
        marked_ids,
    )


def _open_dialog(
    screen: EsctuiScreen,
    infinitive: str,
    read_options: Callable[[Store], list[ModelOption]],
    dialog: Callable[[str, str, list[str] | None, list[ModelOption]], EsctuiModalScreen[Any]],
    document_id: str,
    page_count: int,
    marked_ids: list[str],
) -> None:
    """The pages it is for (the marked ones, else all), the models read in a thread, the dialog."""
    if not page_count:
        screen.notify(f"This document has no pages to {infinitive} yet.", severity="warning")
        return
    store, part_ids = screen.store, list(marked_ids) or None
    screen.store_call(
        lambda: read_options(store),
        lambda options: screen.app.push_screen(
            dialog(document_id, pages_scope(part_ids, page_count), part_ids, options)
        ),
    )


class ModelRunScreen(EsctuiModalScreen[None]):
    """A model from a list, the job's own fields below it; Ctrl+S (or Enter) starts the job."""

    DEFAULT_CSS = """
    ModelRunScreen #models { height: auto; max-height: 6; }
    ModelRunScreen #no-models { color: $warning; height: auto; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="kraken_run.cancel"),
        Binding("ctrl+s", "start", "Start", id="kraken_run.start"),
    ]
    TITLE = ""
    KIND = ModelKind.SEGMENTATION
    NO_MODEL = ""

    def __init__(
        self,
        document_id: str,
        scope: str,
        part_ids: list[str] | None,
        options: list[ModelOption],
    ) -> None:
        super().__init__()
        self.document_id = document_id
        self.scope = scope
        self.part_ids = part_ids
        self.options = options

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog tight", id="kraken-dialog"):
            yield Label(f"{self.TITLE} {self.scope} with kraken", classes="title")
            if self.options:
                yield Label(f"{self.KIND.value.capitalize()} model")
                yield OptionList(
                    *[
                        Option(
                            f"{safe(o.name)} [dim]{safe(o.detail)}[/dim]"
                            if o.detail
                            else safe(o.name),
                            id=str(index),
                        )
                        for index, o in enumerate(self.options)
                    ],
                    id="models",
                )
            else:
                yield Static(self.NO_MODEL, id="no-models")
            yield from self.fields()
            yield Checkbox("Redo the pages this model already did (--force)", id="force")
            yield Static(self.hint(), classes="hint", id="kraken-hint")
        yield KeyFooter()

    def fields(self) -> ComposeResult:
        yield from ()

    def hint(self) -> str:
        return ""

    def on_mount(self) -> None:
        if self.options:
            models = self.query_one("#models", OptionList)
            models.highlighted = 0
            models.focus()

    def chosen(self) -> ModelOption | None:
        """The highlighted model."""
        if not self.options:
            return None
        index = self.query_one("#models", OptionList).highlighted
        return self.options[index] if index is not None else None

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_start()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_start()

    def action_start(self) -> None:
        if self.chosen() is None:
            self.notify(self.NO_MODEL or "Choose a model first.", severity="warning")
            return
        self.start()

    def start(self) -> None:
        raise NotImplementedError

    @property
    def force(self) -> bool:
        """Whether the pages this model already did are done again."""
        return self.query_one("#force", Checkbox).value

    def run_job(self, build: Callable[[], JobT]) -> None:
        """Build the job (its constructor reads the store: in a thread), close, and run it."""
        app = self.app

        def started(job: JobT) -> None:
            self.dismiss(None)
            app.start_job(job)

        self.store_call(build, started, group="start")

    def action_cancel(self) -> None:
        self.dismiss(None)


class SegmentScreen(ModelRunScreen):
    """Segment: the model, what to find, what to do with a segmentation already there."""

    TITLE = "Segment"
    KIND = ModelKind.SEGMENTATION
    NO_MODEL = NO_SEGMENTATION_MODEL

    def fields(self) -> ComposeResult:
        with Grid(classes="form"):
            yield Label("Find", classes="field-label")
            yield Select(CONTENTS, value="both", allow_blank=False, id="content")
            yield Label("Existing", classes="field-label")
            yield Select(EXISTING, value="keep", allow_blank=False, id="existing")

    def hint(self) -> str:
        return (
            "Replace removes the lines there and every version's text on them (asked first). "
            "Enter or Ctrl+S starts."
        )

    def start(self) -> None:
        from esctui.jobs.kraken.segment import SegmentJob, replaces

        option = self.chosen()
        assert option is not None  # action_start checked
        content: SegmentationContent | None = self.query_one("#content", Select).selection
        existing: Existing | None = self.query_one("#existing", Select).selection
        assert content is not None and existing is not None  # allow_blank=False
        store, document_id, part_ids, force = (
            self.store,
            self.document_id,
            self.part_ids,
            self.force,
        )

        def build() -> SegmentJob:
            return SegmentJob(
                store,
                document_id,
                model=option.ref,
                part_ids=part_ids,
                content=content,
                existing=existing,
                force=force,
            )

        if existing != "replace":
            self.run_job(build)
            return

        def question() -> str | None:
            pages = part_ids or [p.id for p in store.list_parts(document_id)]
            regions, lines = replaces(content)
            losses = replace_losses(store, document_id, pages, regions=regions, lines=lines)
            return replace_question(store, document_id, losses, len(pages))

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_job(build)

        def ask(sentence: str | None) -> None:
            if sentence is None:  # nothing there to lose
                self.run_job(build)
                return
            self.app.push_screen(
                ConfirmScreen(safe(sentence) + "\nSegment and replace?", yes_label="Replace"),
                answered,
            )

        self.store_call(question, ask, group="start")


class TranscribeScreen(ModelRunScreen):
    """Transcribe: the recognition model and the version its text goes into."""

    TITLE = "Transcribe"
    KIND = ModelKind.RECOGNITION
    NO_MODEL = NO_RECOGNITION_MODEL

    def fields(self) -> ComposeResult:
        with Grid(classes="form"):
            yield Label("Version", classes="field-label")
            yield TextInput(self.options[0].name if self.options else "", id="version")

    def hint(self) -> str:
        return (
            "The text goes into this version (made when missing), with confidences. Enter or "
            "Ctrl+S starts."
        )

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        """The version follows the model while its name is a model's (not typed)."""
        version = self.query_one("#version", Input)
        option = self.chosen()
        if option is not None and version.value.strip() in {o.name for o in self.options}:
            version.value = option.name

    def start(self) -> None:
        from esctui.jobs.kraken.transcribe import TranscribeJob

        option = self.chosen()
        assert option is not None  # action_start checked
        model = option.name  # stored models only; the job's title names it
        version = self.query_one("#version", Input).value.strip() or option.name
        store, document_id, part_ids, force = (
            self.store,
            self.document_id,
            self.part_ids,
            self.force,
        )
        self.run_job(
            lambda: TranscribeJob(
                store, document_id, model=model, version=version, part_ids=part_ids, force=force
            )
        )
