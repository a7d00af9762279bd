"""Pick files by keyboard: a folder tree, an ordered selection, and a typed path or glob."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from natsort import natsorted, ns
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Checkbox, DirectoryTree, Input, Label, OptionList, Static
from textual.widgets.directory_tree import DirEntry
from textual.widgets.option_list import Option
from textual.widgets.tree import TreeNode

from esctui.domain.text import plural, printable
from esctui.jobs.imports.images import expand_inputs
from esctui.ui.screens.base import EsctuiModalScreen
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.inputs import TextInput
from esctui.ui.widgets.text import safe


def natural_order(paths: Iterable[Path]) -> list[Path]:
    """Folders first, then files, each in natural order: page2 before page10."""
    return natsorted(paths, key=lambda p: (not p.is_dir(), p.name), alg=ns.IGNORECASE)


class FilteredTree(DirectoryTree):
    """Folders and the files whose suffix is wanted, hidden entries left out, in natural order;
    names shown with their control characters escaped. Space selects (DirectoryTree's own Space
    only folds a folder, and would hide the picker's)."""

    BINDINGS = [Binding("space", "screen.select", "Select", id="file_picker.select")]

    def __init__(
        self, path: Path, suffixes: frozenset[str] | None, *, id: str | None = None
    ) -> None:
        self.suffixes = suffixes
        super().__init__(path, id=id)

    class Listed(Message):
        """A folder of the tree was read (in a worker thread)."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        kept = [
            p
            for p in paths
            if not p.name.startswith(".")
            and (p.is_dir() or self.suffixes is None or p.suffix.lower() in self.suffixes)
        ]
        self.post_message(self.Listed())
        return kept

    def _populate_node(self, node: TreeNode[DirEntry], content: Iterable[Path]) -> None:
        """DirectoryTree sorts by plain name after ``filter_paths`` (page1, page10, page2);
        the entries are put back in natural order here (Textual 6.2's hook for it)."""
        super()._populate_node(node, natural_order(content))

    def process_label(self, label: str | Text) -> Text:
        """A file name as it is: control characters escaped, never read as markup."""
        if isinstance(label, Text):
            return Text(printable(label.plain), style=label.style)
        return Text(printable(label))


class PickOneTree(FilteredTree):
    """The tree of a picker for one file: Space picks it."""

    BINDINGS = [Binding("space", "screen.select", "Pick", id="file_picker.select")]


class FilePickerScreen(EsctuiModalScreen[list[Path] | None]):
    """Choose one file, or several in a chosen order. Dismisses with the paths, or None."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="file_picker.cancel"),
        Binding("a", "add_folder", "Add folder", id="file_picker.add_folder"),
        Binding("g", "focus_path", "Path/glob", id="file_picker.path"),
        Binding("g", "focus_path_one", "Type a path", id="file_picker.path"),
        Binding("u", "parent", "Up a folder", id="file_picker.up"),
        Binding("x", "clear", "Clear", id="file_picker.clear"),
        Binding("ctrl+s", "confirm", "Import", id="file_picker.import"),
        Binding("d", "toggle_option", "Duplicates", id="file_picker.option"),
    ]
    MULTIPLE_ONLY = frozenset({"add_folder", "clear", "confirm", "focus_path"})

    def __init__(
        self,
        title: str,
        *,
        suffixes: Iterable[str] | None = None,
        multiple: bool = True,
        start: Path | None = None,
        option: str | None = None,
    ) -> None:
        """``option``: the label of a checkbox under the selection (toggled with d); its value
        is ``option_value`` once the picker is closed."""
        super().__init__()
        self.option = option
        self.option_value = False
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
                else "Enter or Space picks the file; g types its path; u goes up a folder."
            )
            yield Static(how, classes="hint")
            yield Static("", id="nothing-here", classes="error")
            with Horizontal():
                tree = FilteredTree if self.multiple else PickOneTree
                yield tree(self.start, self.suffixes, id="tree")
                if self.multiple:
                    with Vertical(classes="side"):
                        yield Label("Selected (0)", id="count")
                        yield OptionList(id="selected")
                        if self.option:
                            yield Checkbox(self.option, id="picker-option")
            placeholder = (
                "a path, a folder, or a glob such as scans/*.tif"
                if self.multiple
                else "the path of the file, or a folder to look in"
            )
            yield TextInput(placeholder=placeholder, id="path")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#nothing-here", Static).display = False
        self.query_one("#tree", DirectoryTree).focus()

    def on_filtered_tree_listed(self, message: FilteredTree.Listed) -> None:
        self.call_after_refresh(self._say_if_empty)

    def _say_if_empty(self) -> None:
        """A folder without a file to pick says so, and how to go elsewhere."""
        tree = self.query_one("#tree", DirectoryTree)
        note = self.query_one("#nothing-here", Static)
        note.display = not tree.root.children
        if note.display:
            kinds = "/".join(sorted(s.lstrip(".") for s in self.suffixes or ())) or "matching"
            note.update(
                f"No {safe(kinds)} files or folders in {safe(Path(tree.path).name or '/')}: "
                "u goes up a folder, g types a path."
            )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A picker for one file has no folder, selection or glob keys."""
        if action in self.MULTIPLE_ONLY:
            return self.multiple
        if action == "focus_path_one":
            return not self.multiple
        if action == "toggle_option":
            return self.multiple and self.option is not None
        return True

    def action_toggle_option(self) -> None:
        self.query_one("#picker-option", Checkbox).toggle()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.option_value = event.value

    # ------------------------------------------------------------------ selection

    def _add(self, paths: list[Path]) -> list[Path]:
        """Add the paths not chosen yet, in order; returns those added."""
        added = [path for path in dict.fromkeys(paths) if path not in self.selected]
        self.selected.extend(added)
        self._refresh_selection()
        return added

    def _say_added(self, added: list[Path], asked: list[Path], where: str = "") -> None:
        """'Added 3 files from scans', 'Added 1 file; 2 were chosen already', …"""
        already = len(set(asked)) - len(added)
        if not added:
            self.notify(
                f"Nothing added: {'that file was' if already == 1 else 'those files were'} "
                "chosen already.",
                severity="warning",
            )
            return
        text = f"Added {plural(len(added), 'file')}{where}"
        if already:
            text += f"; {already:,} {'was' if already == 1 else 'were'} chosen already"
        self.notify(text + ".")

    def _refresh_selection(self) -> None:
        if not self.multiple:
            return
        options = self.query_one("#selected", OptionList)
        options.clear_options()
        options.add_options(
            [Option(f"{i}. {safe(p.name)}", id=str(i)) for i, p in enumerate(self.selected, 1)]
        )
        self.query_one("#count", Label).update(f"Selected ({len(self.selected):,})")

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
        files = natural_order(
            p
            for p in folder.iterdir()
            if p.is_file()
            and not p.name.startswith(".")
            and (self.suffixes is None or p.suffix.lower() in self.suffixes)
        )
        if not files:
            self.notify(f"No matching files in {safe(folder.name)}.", severity="warning")
            return
        self._say_added(self._add(files), files, f" from {safe(folder.name)}")

    def action_focus_path(self) -> None:
        self.query_one("#path", Input).focus()

    action_focus_path_one = action_focus_path

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
            self.notify(f"{safe(event.value)}: {safe(reason)}", severity="error", timeout=10)
            return
        if not self.multiple:
            self.dismiss(files[:1])
            return
        event.input.value = ""
        self._say_added(self._add(files), files)

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
