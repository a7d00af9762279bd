"""The servers registry: config folder, 0600 token file, atomic writes, plain-word errors."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from esctui.domain.errors import ConflictError, NotFoundError
from esctui.store.config_location import default_config_dir, resolve_config_dir
from esctui.store.remotes import (
    RemoteConfigError,
    RemoteRegistry,
    RemoteServer,
    normalize_url,
)

TOKEN = "d4f0c2a9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_config_folder_is_esctui_config_else_the_user_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ESCTUI_CONFIG", raising=False)
    assert resolve_config_dir() == default_config_dir()
    assert default_config_dir().name == "esctui"
    monkeypatch.setenv("ESCTUI_CONFIG", str(tmp_path / "cfg"))
    assert resolve_config_dir() == tmp_path / "cfg"
    assert resolve_config_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert RemoteRegistry().folder == tmp_path / "cfg"


def test_add_list_get_remove(tmp_path: Path) -> None:
    registry = RemoteRegistry(tmp_path / "cfg")
    assert registry.servers() == []
    saved = registry.add(RemoteServer("lab", "https://Escr.Example.org/api/"), TOKEN)
    assert saved == RemoteServer("lab", "https://escr.example.org")
    registry.add(RemoteServer("dev", "http://127.0.0.1:8765", insecure=True))
    assert [s.name for s in registry.servers()] == ["dev", "lab"]
    assert registry.get("dev").insecure is True
    assert registry.get("lab").api_url == "https://escr.example.org/api/"
    assert registry.token("lab") == TOKEN and registry.token("dev") is None
    # another registry object (another process) sees the same
    assert RemoteRegistry(tmp_path / "cfg").servers() == registry.servers()
    registry.remove("lab")
    assert [s.name for s in registry.servers()] == ["dev"]
    assert registry.token("lab") is None
    assert TOKEN not in (tmp_path / "cfg" / "tokens.json").read_text()


def test_the_token_file_is_0600_from_the_start_and_tightened_again(tmp_path: Path) -> None:
    old_umask = os.umask(0o000)  # the most permissive umask: the file must still be 0600
    try:
        registry = RemoteRegistry(tmp_path / "cfg")
        registry.add(RemoteServer("lab", "https://escr.example.org"), TOKEN)
    finally:
        os.umask(old_umask)
    tokens = tmp_path / "cfg" / "tokens.json"
    assert mode_of(tokens) == 0o600
    assert mode_of(tmp_path / "cfg") == 0o700
    assert json.loads(tokens.read_text()) == {"tokens": {"lab": TOKEN}}
    # the server list holds no token
    assert TOKEN not in (tmp_path / "cfg" / "remotes.json").read_text()
    os.chmod(tokens, 0o644)
    assert registry.token("lab") == TOKEN
    assert mode_of(tokens) == 0o600
    registry.set_token("lab", "  another-token-value  \n")
    assert registry.token("lab") == "another-token-value"
    assert mode_of(tokens) == 0o600
    # no temporary files left behind
    assert sorted(p.name for p in (tmp_path / "cfg").iterdir()) == [
        ".remotes.lock",
        "remotes.json",
        "tokens.json",
    ]


def test_the_token_never_appears_in_a_server_or_its_repr(tmp_path: Path) -> None:
    registry = RemoteRegistry(tmp_path)
    server = registry.add(RemoteServer("lab", "https://escr.example.org"), TOKEN)
    assert TOKEN not in repr(server) and TOKEN not in json.dumps(server.to_record())
    assert TOKEN not in repr(registry.servers())


def test_errors_are_sentences(tmp_path: Path) -> None:
    registry = RemoteRegistry(tmp_path)
    registry.add(RemoteServer("lab", "https://escr.example.org"))
    with pytest.raises(ConflictError, match="already saved"):
        registry.add(RemoteServer("lab", "https://other.example.org"))
    with pytest.raises(NotFoundError, match=r"no server is called 'nope' \(known: lab\)"):
        registry.get("nope")
    with pytest.raises(RemoteConfigError, match="cannot name a server"):
        registry.add(RemoteServer("a b", "https://escr.example.org"))
    with pytest.raises(RemoteConfigError, match="the token is empty"):
        registry.set_token("lab", "   ")
    with pytest.raises(RemoteConfigError, match="spaces or control") as caught:
        registry.set_token("lab", "abc\x1b[2Jdef")
    assert "\x1b" not in str(caught.value)


def test_a_name_with_control_characters_is_shown_escaped(tmp_path: Path) -> None:
    with pytest.raises(RemoteConfigError) as caught:
        RemoteRegistry(tmp_path).add(RemoteServer("x\x1b]0;owned\x07", "https://e.org"))
    assert "\x1b" not in str(caught.value) and "\\x1b" in str(caught.value)


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("https://escr.example.org", "https://escr.example.org"),
        ("https://escr.example.org/", "https://escr.example.org"),
        ("https://escr.example.org/api/", "https://escr.example.org"),
        ("HTTPS://Escr.Example.org:8443/sub/api", "https://escr.example.org:8443/sub"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://[::1]:8765/", "http://[::1]:8765"),
    ],
)
def test_addresses_are_normalized(given: str, normal: str) -> None:
    assert normalize_url(given) == normal


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("escr.example.org", "did you mean https://escr.example.org"),
        ("ftp://escr.example.org", "is not a server address"),
        ("https://admin:pw@escr.example.org", "user name or password"),
        ("https://escr.example.org/?token=abc", "query or fragment"),
        ("https://escr.example.org:99999", "invalid port"),
        ("https://escr.exa\x1b[2Jmple.org", "spaces or control characters"),
        ("https://escr example.org", "spaces or control characters"),
    ],
)
def test_bad_addresses_are_refused(given: str, reason: str) -> None:
    with pytest.raises(RemoteConfigError, match=reason.replace("?", r"\?")) as caught:
        normalize_url(given)
    assert "pw" not in str(caught.value).replace("pwd", "")


def test_a_damaged_token_file_is_reported_without_its_content(tmp_path: Path) -> None:
    registry = RemoteRegistry(tmp_path)
    registry.add(RemoteServer("lab", "https://escr.example.org"), TOKEN)
    (tmp_path / "tokens.json").write_text('{"tokens": {"lab": "' + TOKEN)  # cut short
    from esctui.domain.errors import StoreError

    with pytest.raises(StoreError, match="damaged") as caught:
        registry.token("lab")
    assert TOKEN not in str(caught.value)
