"""Keys: ids for every binding, a keymap file that remaps them, keys answered while another
process holds the store's lock, and keys typed ahead over store work."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from textual import events
from textual.binding import Binding

import esctui.ui
from esctui.jobs.imports.images import LocalImagesImporter
from esctui.jobs.runner import run_job
from esctui.store import Store
from esctui.ui.app import SHOWN_READ_WAIT, EsctuiApp
from esctui.ui.keymap import BINDING_IDS, key_is_valid, read_keymap
from esctui.ui.screens.dialogs import ConfirmScreen, DocumentFormScreen
from esctui.ui.screens.documents import DocumentsScreen
from esctui.ui.screens.help import HelpScreen
from esctui.ui.screens.images import ImagesScreen
from esctui.ui.screens.page import PageScreen
from esctui.ui.widgets.footer import KeyFooter
from tests.helpers import make_pages, notifications
from tests.ui.support import SIZE, burst, screen_text, settled, until


def every_binding() -> list[tuple[str, Binding]]:
    """(class name, binding) for every Binding of every class in esctui.ui."""
    found: list[tuple[str, Binding]] = []
    for module in pkgutil.walk_packages(esctui.ui.__path__, "esctui.ui."):
        for value in vars(importlib.import_module(module.name)).values():
            if isinstance(value, type) and value.__module__ == module.name:
                found += [
                    (value.__name__, b)
                    for b in value.__dict__.get("BINDINGS", [])
                    if isinstance(b, Binding)
                ]
    return found


def test_every_binding_has_an_id_and_the_keymap_knows_them_all() -> None:
    bindings = every_binding()
    assert len(bindings) > 60
    assert [(name, b.key) for name, b in bindings if not b.id] == []
    assert {b.id for _name, b in bindings} == BINDING_IDS
    for _name, binding in bindings:
        assert binding.id is not None
        prefix, _, what = binding.id.partition(".")
        assert prefix and what and binding.id == binding.id.lower(), binding.id


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("a", True),
        ("A", True),
        ("?", True),
        ("f5", True),
        ("ctrl+e", True),
        ("shift+up", True),
        ("question_mark", True),
        ("left_square_bracket", True),
        ("pageup", True),
        ("", False),
        ("ctrl+", False),
        ("page_up", False),
        ("hyper+bananas", False),
        ("cmd+s", False),
    ],
)
def test_which_keys_textual_can_read(key: str, valid: bool) -> None:
    assert key_is_valid(key) is valid


def write_config(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(textwrap.dedent(text))
    return folder


def test_a_keymap_file_keeps_the_good_entries_and_says_why_it_left_out_the_others(
    tmp_path: Path,
) -> None:
    folder = write_config(
        tmp_path / "config",
        """
        [keys]
        "documents.new" = "a"
        "images.move_up" = "K, ctrl+up"
        "documents.shout" = "s"
        "documents.rename" = "ctrl+bananas"
        "documents.edit" = 3
        """,
    )
    keymap, problems = read_keymap(folder)
    assert keymap == {"documents.new": "a", "images.move_up": "K,ctrl+up"}
    assert len(problems) == 3
    assert "'documents.shout' is not a key of esctui" in problems[0]
    assert "'ctrl+bananas' for 'documents.rename'" in problems[1]
    assert "'3' for 'documents.edit'" in problems[2]
    assert read_keymap(tmp_path / "nowhere") == ({}, [])
    (folder / "config.toml").write_text("[keys\n")
    keymap, [problem] = read_keymap(folder)
    assert keymap == {} and "not valid TOML" in problem


async def test_a_remapped_key_works_shows_in_the_footer_and_the_help(
    store: Store, tmp_path: Path
) -> None:
    """The app starts with a keymap that has a good and a bad entry: the bad one is said in a
    notification, the good one moves New from n to a, in the footer and the help too."""
    folder = write_config(
        tmp_path / "config",
        """
        [keys]
        "documents.new" = "a"
        "documents.nonsense" = "z"
        """,
    )
    app = EsctuiApp(store, config_dir=folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        said = notifications(app)
        assert any("'documents.nonsense' is not a key of esctui" in m for m in said)
        footer = app.screen.query_one(KeyFooter)
        assert ("a", "New") in footer.items() and ("n", "New") not in footer.items()
        await pilot.press("n")
        assert isinstance(app.screen, DocumentsScreen)  # n does nothing any more
        await pilot.press("a")
        assert isinstance(app.screen, DocumentFormScreen)
        await pilot.press("escape", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        lines = [line.strip("█▌▐ ") for line in screen_text(app)]  # inside the dialog's border
        assert any(line.startswith("a ") and line.endswith(" New") for line in lines), lines
        assert not any(line.startswith("n ") and line.endswith(" New") for line in lines)


async def test_keys_are_answered_while_a_commit_holds_the_store(store: Store) -> None:
    """An import's commit (here a thread inside ``store.transaction()`` for 2 s, as a big batch
    of pages takes) holds the store while the Documents screen reads its list: the read waits
    in its thread, the cursor keys do not wait for it."""
    for number in range(5):
        store.create_document(f"Register {number}")
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DocumentsScreen)
        locked, release = threading.Event(), threading.Event()

        def commit() -> None:
            with store.transaction():
                locked.set()
                release.wait(timeout=2)

        holder = threading.Thread(target=commit)
        holder.start()
        try:
            assert locked.wait(timeout=10)
            reading = screen.reload()  # waits for the store, in a thread
            await asyncio.sleep(0.2)
            assert not reading.is_finished
            for row in (1, 2, 3):
                start = time.monotonic()
                app.post_message(events.Key("down", None))
                while screen.table.cursor_row != row and time.monotonic() - start < 5:
                    await asyncio.sleep(0.002)
                took = time.monotonic() - start
                assert took < 0.25, f"a key took {took:.3f} s while the store was held"
            assert not reading.is_finished  # the keys were answered while the read waited
        finally:
            release.set()
            holder.join(timeout=10)
        await settled(app)
        assert reading.is_finished
        assert screen.table.row_count == 5 and screen.table.cursor_row == 3  # the cursor kept


async def test_keys_typed_after_store_work_land_where_its_result_puts_the_focus(
    store: Store,
) -> None:
    """ "n", a name, Enter and x typed in one burst: the document is created (in a thread), the
    form closes, and x, held until then, asks to delete the new document; it is not typed
    into the name."""
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await burst(app, "n", "Alpha", "<enter>", "x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert [d.name for d in store.list_documents()] == ["Alpha"]
        assert "'Alpha'" in str(app.screen.question)


@contextmanager
def store_held(store: Store, seconds: float) -> Iterator[threading.Event]:
    """Another thread inside ``store.transaction()`` (as an import's commit) for ``seconds``
    at most, from when the block starts; setting the event it gives ends it sooner."""
    locked, release = threading.Event(), threading.Event()

    def commit() -> None:
        with store.transaction():
            locked.set()
            release.wait(timeout=seconds)

    holder = threading.Thread(target=commit)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        yield release
    finally:
        release.set()
        holder.join(timeout=10)


async def test_keys_typed_as_a_screen_opens_wait_for_what_it_reads(
    store: Store, tmp_path: Path
) -> None:
    """Enter, Down, Enter typed at once while a short commit holds the store: Enter opens the
    Images screen, which reads its pages in a thread (waiting for the lock); Down and Enter
    wait for the pages to show, then open the second page, as they would have had the read
    been instant. (Without the wait, they would reach an empty list and open nothing.)"""
    doc = store.create_document("Register")
    job = await run_job(
        store, LocalImagesImporter(store, doc.id, make_pages(tmp_path / "scans", 3))
    )
    assert job.status == "done", job.error
    second = store.list_parts(doc.id)[1]
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        with store_held(store, SHOWN_READ_WAIT * 2 / 3):  # (ends by itself)
            await burst(app, "<enter>", "<down>", "<enter>")
            await until(pilot, lambda: isinstance(app.screen, PageScreen))
        assert isinstance(app.screen, PageScreen) and app.screen.part_id == second.id


async def test_keys_typed_as_a_screen_comes_back_go_to_the_list_it_reads_again(
    store: Store,
) -> None:
    """A screen closed by the program (not by a key) uncovers the Documents screen, which
    reads its list again while a short commit holds the store. Enter, typed at once, waits
    for the fresh list: it opens the other document, not the one under the cursor, deleted
    meanwhile (by another esctui)."""
    names = {store.create_document(name).id: name for name in ("Alpha", "Beta")}
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        documents = app.screen
        assert isinstance(documents, DocumentsScreen)
        gone = documents.selected_id
        assert gone is not None
        [other] = set(names) - {gone}
        app.push_screen(HelpScreen(documents))
        await pilot.pause()
        store.delete_document(gone)
        with store_held(store, SHOWN_READ_WAIT * 2 / 3):  # (ends by itself)
            app.pop_screen()
            await burst(app, "<enter>")
            await until(pilot, lambda: isinstance(app.screen, ImagesScreen))
        assert isinstance(app.screen, ImagesScreen) and app.screen.document_id == other


async def test_keys_wait_for_a_screen_that_comes_back_a_moment_at_most(store: Store) -> None:
    """A long commit holds the store as the Documents screen comes back (Escape out of the
    help): its read waits for the lock, the Down typed after Escape waits SHOWN_READ_WAIT at
    most, then moves the cursor over the rows shown."""
    for name in ("Alpha", "Beta", "Gamma"):
        store.create_document(name)
    app = EsctuiApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        documents = app.screen_stack[-2]
        assert isinstance(app.screen, HelpScreen) and isinstance(documents, DocumentsScreen)
        with store_held(store, 5) as release:
            start = time.monotonic()
            await burst(app, "<escape>", "<down>")
            while documents.table.cursor_row != 1 and time.monotonic() - start < 4:
                await asyncio.sleep(0.01)
            took = time.monotonic() - start
            assert not app.settled  # the read still waits for the lock
            release.set()
        assert documents.table.cursor_row == 1
        assert SHOWN_READ_WAIT <= took < SHOWN_READ_WAIT + 0.5, took
