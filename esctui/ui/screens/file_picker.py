"""Pick files by keyboard: a folder tree, an ordered selection, and a typed path or glob."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from natsort import natsorted, ns
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from esctui.jobs.imports.images import expand_inputs


class FilteredTree(DirectoryTree):
    """Folders and the files whose suffix is wanted, hidden entries left out."""

    def __init__(self, path: Path, suffixes: frozenset[str] | None, **kwargs: object) -> None:
        self.suffixes = suffixes
        super().__init__(path, **kwargs)  # type: ignore[arg-type]

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        kept = [
            p
            for p in paths
            if not p.name.startswith(".")
            and (p.is_dir() or self.suffixes is None or p.suffix.lower() in self.suffixes)
        ]
        return natsorted(kept, key=lambda p: (not p.is_dir(), p.name), alg=ns.IGNORECASE)


class FilePickerScreen(ModalScreen[list[Path] | None]):
    """Choose one file, or several in a chosen order. Dismisses with the paths, or None."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("space", "select", "Select", show=True),
        Binding("a", "add_folder", "Add folder"),
        Binding("g", "focus_path", "Path/glob"),
        Binding("u", "parent", "Up a folder"),
        Binding("x", "clear", "Clear"),
        Binding("ctrl+s", "confirm", "Import"),
    ]

    def __init__(
        self,
        title: str,
        *,
        suffixes: Iterable[str] | None = None,
        multiple: bool = True,
        start: Path | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.suffixes = frozenset(s.lower() for s in suffixes) if suffixes else None
        self.multiple = multiple
        self.start = (start or Path.cwd()).resolve()
        self.selected: list[Path] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(self.title_text, classes="title")
            how = (
                "Space selects a file (the order you select is the import order); "
                "a adds a whole folder in natural order; g types a path or glob; Ctrl+S imports."
                if self.multiple
                else "Enter or Space picks the file; g types a path; u goes up a folder."
            )
            yield Static(how, classes="hint")
            with Horizontal():
                yield FilteredTree(self.start, self.suffixes, id="tree")
                if self.multiple:
                    with Vertical(classes="side"):
                        yield Label("Selected (0)", id="count")
                        yield OptionList(id="selected")
            yield Input(placeholder="a path, a folder, or a glob such as scans/*.tif", id="path")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#tree", DirectoryTree).focus()

    # ------------------------------------------------------------------ selection

    def _add(self, paths: list[Path]) -> None:
        for path in paths:
            if path not in self.selected:
                self.selected.append(path)
        self._refresh_selection()

    def _refresh_selection(self) -> None:
        if not self.multiple:
            return
        options = self.query_one("#selected", OptionList)
        options.clear_options()
        options.add_options(
            [Option(f"{i}. {p.name}", id=str(i)) for i, p in enumerate(self.selected, 1)]
        )
        self.query_one("#count", Label).update(f"Selected ({len(self.selected)})")

    def _highlighted(self) -> Path | None:
        node = self.query_one("#tree", DirectoryTree).cursor_node
        return node.data.path if node is not None and node.data is not None else None

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        if self.multiple:
            self.action_select()
        else:
            self.dismiss([event.path])

    def action_select(self) -> None:
        path = self._highlighted()
        if path is None:
            return
        if path.is_dir():
            node = self.query_one("#tree", DirectoryTree).cursor_node
            if node is not None:
                node.toggle()
            return
        if not self.multiple:
            self.dismiss([path])
            return
        if path in self.selected:
            self.selected.remove(path)
            self._refresh_selection()
        else:
            self._add([path])

    def action_add_folder(self) -> None:
        path = self._highlighted()
        if path is None or not self.multiple:
            return
        folder = path if path.is_dir() else path.parent
        files = natsorted(
            (
                p
                for p in folder.iterdir()
                if p.is_file()
                and not p.name.startswith(".")
                and (self.suffixes is None or p.suffix.lower() in self.suffixes)
            ),
            key=lambda p: p.name,
            alg=ns.IGNORECASE,
        )
        if not files:
            self.notify(f"No matching files in {folder.name}.", severity="warning")
            return
        self._add(files)
        self.notify(f"Added {len(files)} files from {folder.name}.")

    def action_focus_path(self) -> None:
        self.query_one("#path", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        if not text.startswith("/"):
            text = str(self.start / text) if not text.startswith("~") else text
        target = Path(text).expanduser()
        if target.is_dir():
            tree = self.query_one("#tree", DirectoryTree)
            tree.path = target
            self.start = target
            event.input.value = ""
            tree.focus()
            return
        files, problems = expand_inputs([text])
        if self.suffixes is not None:
            files = [f for f in files if f.suffix.lower() in self.suffixes]
        if not files:
            reason = problems[0][1] if problems else "no matching file"
            self.notify(f"{event.value}: {reason}", severity="error")
            return
        if not self.multiple:
            self.dismiss(files[:1])
            return
        self._add(files)
        event.input.value = ""
        self.notify(f"Added {len(files)} file{'s' * (len(files) != 1)}.")

    def action_parent(self) -> None:
        tree = self.query_one("#tree", DirectoryTree)
        current = Path(tree.path)
        if current.parent != current:
            tree.path = current.parent
            self.start = current.parent

    def action_clear(self) -> None:
        self.selected.clear()
        self._refresh_selection()

    def action_confirm(self) -> None:
        if not self.selected:
            self.notify("Nothing selected yet: Space selects a file.", severity="warning")
            return
        self.dismiss(list(self.selected))

    def action_cancel(self) -> None:
        self.dismiss(None)
