"""printable / terminal_safe_json: text from a server shown on a terminal."""

from __future__ import annotations

import json

from esctui.domain.text import printable, terminal_safe_json

NASTY = "a\x1b]0;title\x07b\x1b[2Jc\nd\te\r\x00\x7f\x9b\u202egnp.exe\u2028"


def test_printable_escapes_what_a_terminal_acts_on() -> None:
    assert printable(NASTY) == (
        "a\\x1b]0;title\\x07b\\x1b[2Jc\\nd\\te\\r\\x00\\x7f\\x9b\\u202egnp.exe\\u2028"
    )


def test_printable_keeps_every_script() -> None:
    for text in ("Register 1748", "כתב יד", "مخطوطة", "Codex Ṡ ß", "写本", "‏mark"):
        assert printable(text) == text  # the right-to-left mark U+200F is kept


def test_terminal_safe_json_is_the_same_value() -> None:
    value = {"name": NASTY, "list": ["ok", "é"]}
    text = terminal_safe_json(json.dumps(value, ensure_ascii=False, indent=2))
    assert json.loads(text) == value
    assert all(ch not in text for ch in "\x1b\x07\x9b\x7f\u202e\u2028")
    assert "é" in text and "\n" in text  # non-ASCII kept; the indentation too
