"""Small modal dialogs: confirm, ask for text, pick one option, edit a form.

Texts given to a dialog (question, prompt, hint, title) are Textual markup: put names in with
``safe``/``quoted`` from ``esctui.ui.widgets.text``. Choice labels are data and are escaped here.
A dialog that saves something takes the saving function and stays open, with what was typed,
when it refuses (a taken or empty name): the reason shows under the field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option

from esctui.domain import Document, LineOffset, ReadDirection
from esctui.domain.errors import EsctuiError
from esctui.domain.text import printable_lines
from esctui.ui.screens.base import EsctuiModalScreen
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.inputs import TextInput
from esctui.ui.widgets.text import safe

OFFSET_WORDS = {  # where the line drawn on the page lies, said in words
    LineOffset.BASELINE.value: "baseline (the text stands on it)",
    LineOffset.TOPLINE.value: "topline (the text hangs under it)",
    LineOffset.CENTERED.value: "centered (through the middle of the text)",
}
NAME_RULE = "Names are unique in this data folder, ignoring case and spaces at the ends."


class ConfirmScreen(EsctuiModalScreen[bool]):
    """Ask yes or no. Dismisses with True for yes."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str, *, yes_label: str = "Yes") -> None:
        super().__init__()
        self.question = question
        self.yes_label = yes_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question)
            with Horizontal(classes="buttons"):
                yield Button(f"{self.yes_label} (y)", id="yes", variant="error")
                yield Button("No (n)", id="no")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # Enter alone never deletes or stops anything

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class TextPromptScreen(EsctuiModalScreen[str | None]):
    """Ask for one line of text. Dismisses with the text, or None if cancelled.

    With ``apply`` the text is handed to it first, in a thread (it may write to the store);
    an ``EsctuiError`` it raises is shown in the dialog, which stays open with the text for a
    correction.
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="prompt.cancel"),
        Binding("enter", "submit", "OK", priority=True, id="prompt.ok"),
    ]

    def __init__(
        self,
        prompt: str,
        value: str = "",
        *,
        placeholder: str = "",
        hint: str = "",
        password: bool = False,
        apply: Callable[[str], object] | None = None,
    ) -> None:
        super().__init__()
        self.prompt = prompt
        self.value = value
        self.placeholder = placeholder
        self.hint = hint
        self.password = password  # typed characters are hidden
        self.apply = apply

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.prompt)
            if self.hint:
                yield Static(self.hint, classes="hint")
            field = Input if self.password else TextInput  # a password is kept as typed
            yield field(
                self.value, placeholder=self.placeholder, password=self.password, id="answer"
            )
            yield Static("", id="prompt-error", classes="error")
            yield Static("Enter to confirm, Escape to cancel.", classes="hint")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#prompt-error", Static).display = False

    def action_submit(self) -> None:
        value = self.query_one("#answer", Input).value
        if self.apply is None:
            self.dismiss(value)
            return
        apply = self.apply

        def refused(error: EsctuiError) -> None:
            show_error(self.query_one("#prompt-error", Static), str(error))
            self.query_one("#answer", Input).focus()

        self.store_call(
            lambda: apply(value), lambda _: self.dismiss(value), group="apply", failed=refused
        )

    def action_cancel(self) -> None:
        self.dismiss(None)


def show_error(widget: Static, message: str) -> None:
    """Say why a dialog did not close, under the field (``message`` is plain text)."""
    widget.update(safe(message))
    widget.display = True


@dataclass
class Choice:
    key: str
    label: str
    help: str = ""


class ChoiceScreen(EsctuiModalScreen[str | None]):
    """Pick one of a few options (e.g. the Import menu). Dismisses with the option key."""

    BINDINGS = [
        Binding("enter", "choose", "Choose", priority=True, id="choice.choose"),
        Binding("escape", "cancel", "Cancel", id="choice.cancel"),
    ]

    def __init__(
        self,
        title: str,
        choices: list[Choice],
        *,
        hint: str = "Up/Down to choose, Enter to open, Escape to cancel.",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="title")
            yield OptionList(
                *[
                    Option(
                        f"{safe(c.label)}\n[dim]{safe(c.help)}[/dim]" if c.help else safe(c.label),
                        id=c.key,
                    )
                    for c in self.choices
                ],
                id="choices",
            )
            yield Static(self.hint, classes="hint")
        yield KeyFooter()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)  # a click; Enter is the binding

    def action_choose(self) -> None:
        options = self.query_one("#choices", OptionList)
        if options.highlighted is not None:
            self.dismiss(options.get_option_at_index(options.highlighted).id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class DocumentFormScreen(EsctuiModalScreen[Document | None]):
    """Create a document or edit its settings (name, script, direction, line offset).

    ``save`` stores the document (in a thread) and returns it as stored; when it refuses (a
    name taken or empty) the dialog says why and stays open with everything typed. Without
    ``save`` the dialog dismisses with the edited document.
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="document_form.cancel"),
        Binding("ctrl+s", "save", "Save", id="document_form.save"),
    ]

    def __init__(
        self,
        document: Document | None = None,
        *,
        save: Callable[[Document], Document] | None = None,
    ) -> None:
        super().__init__()
        self.document = document
        self.save = save

    def compose(self) -> ComposeResult:
        doc = self.document
        with VerticalScroll(classes="dialog"):  # scrolls on a terminal smaller than 80x24
            yield Label(
                "New document" if doc is None else f"Settings of {safe(doc.name)}",
                classes="title",
            )
            with Grid(classes="form"):
                yield Label("Name", classes="field-label")
                yield TextInput(
                    doc.name if doc else "", placeholder="e.g. Register 1642-1650", id="name"
                )
                yield Label("Script", classes="field-label")
                yield TextInput(
                    doc.main_script if doc else "", placeholder="e.g. Latin, Hebrew", id="script"
                )
                yield Label("Direction", classes="field-label")
                yield Select(
                    [
                        ("left to right", ReadDirection.LTR.value),
                        ("right to left", ReadDirection.RTL.value),
                    ],
                    value=doc.read_direction if doc else ReadDirection.LTR.value,
                    allow_blank=False,
                    id="direction",
                )
                yield Label("Line offset", classes="field-label")
                yield Select(
                    [(OFFSET_WORDS.get(o.value, o.value), o.value) for o in LineOffset],
                    value=doc.line_offset if doc else LineOffset.BASELINE.value,
                    allow_blank=False,
                    id="offset",
                )
            yield Static("", id="name-error", classes="error")
            yield Static(
                f"{NAME_RULE} Tab: next field; Ctrl+S or Enter in a text field saves.",
                classes="hint",
            )
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).can_focus = False  # Tab goes field to field
        self.query_one("#name-error", Static).display = False
        self.query_one("#name", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        name = self.query_one("#name", Input).value
        if not name.strip():
            self._refuse("A document needs a name.")
            return
        doc = Document.from_record(self.document.to_record()) if self.document else Document(name)
        doc.name = name.strip()
        doc.main_script = self.query_one("#script", Input).value.strip()
        doc.read_direction = str(self.query_one("#direction", Select).value)
        doc.line_offset = str(self.query_one("#offset", Select).value)
        if self.save is None:
            self.dismiss(doc)
            return
        save = self.save
        self.store_call(
            lambda: save(doc),
            self.dismiss,
            group="save",
            failed=lambda refused: self._refuse(str(refused)),
        )

    def _refuse(self, message: str) -> None:
        show_error(self.query_one("#name-error", Static), message)
        self.query_one("#name", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)


def parse_metadata(text: str) -> tuple[dict[str, str], list[str]]:
    """'key: value' lines -> dict, plus the lines that are not of that form."""
    metadata: dict[str, str] = {}
    bad: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            bad.append(line)
            continue
        metadata[key.strip()] = value.strip()
    return metadata, bad


class DescriptionScreen(EsctuiModalScreen[Document | None]):
    """Edit a document's description: free text and 'key: value' metadata lines."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="description.cancel"),
        Binding("ctrl+s", "save", "Save", id="description.save"),
    ]

    def __init__(self, document: Document) -> None:
        super().__init__()
        self.document = document

    def compose(self) -> ComposeResult:
        doc = self.document
        with Vertical(classes="dialog wide"):
            yield Label(f"Description of {safe(doc.name)}", classes="title")
            yield Label("Text")
            yield TextArea(printable_lines(doc.description), id="description")
            yield Label("Metadata, one 'key: value' per line")
            yield TextArea(
                printable_lines("\n".join(f"{k}: {v}" for k, v in doc.metadata.items())),
                id="metadata",
            )
            yield Static("Tab leaves a text box; Ctrl+S saves; Escape cancels.", classes="hint")
        yield KeyFooter()

    def action_save(self) -> None:
        metadata, bad = parse_metadata(self.query_one("#metadata", TextArea).text)
        if bad:
            self.notify(f"Not 'key: value': {safe(bad[0])}", severity="error")
            return
        self.document.description = self.query_one("#description", TextArea).text
        self.document.metadata = metadata
        self.dismiss(self.document)

    def action_cancel(self) -> None:
        self.dismiss(None)
