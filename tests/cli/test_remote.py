"""``esctui remote …`` as a real process, with ESCTUI_CONFIG in tmp, against a real eScriptorium
(the ``escriptorium`` fixture) where a server is needed. Every output is checked for the token.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.servers.escriptorium import EscriptoriumServer

Run = Callable[..., subprocess.CompletedProcess]


def ok(result: subprocess.CompletedProcess, status: int = 0) -> subprocess.CompletedProcess:
    assert result.returncode == status, f"{result.args}\n{result.stdout}\n{result.stderr}"
    return result


def no_token_in(outputs: list[str], *tokens: str) -> None:
    for text in outputs:
        for token in tokens:
            assert token not in text, f"a token was printed: {text!r}"


# ------------------------------------------------------------------------------ no server needed


def test_add_list_remove_without_a_server(esctui: Run, config_dir: Path, outputs: list) -> None:
    token = "f" * 40
    assert "No servers saved yet" in ok(esctui("remote", "list")).stdout
    added = ok(esctui("remote", "add", "lab", "https://escr.example.org/api/", input=token + "\n"))
    assert "saved lab (https://escr.example.org) with its token" in added.stdout
    ok(esctui("remote", "add", "test", "https://localhost:8443", "--insecure", input=""))
    listing = ok(esctui("remote", "list")).stdout.splitlines()
    assert listing[0].split() == ["NAME", "URL", "TLS", "TOKEN"]
    assert listing[1].split() == ["lab", "https://escr.example.org", "verified", "saved"]
    assert listing[2].split() == ["test", "https://localhost:8443", "not", "verified", "none"]
    as_json = json.loads(ok(esctui("remote", "list", "--json")).stdout)
    assert as_json == [
        {"name": "lab", "url": "https://escr.example.org", "insecure": False, "has_token": True},
        {"name": "test", "url": "https://localhost:8443", "insecure": True, "has_token": False},
    ]
    tokens = config_dir / "tokens.json"
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
    assert json.loads(tokens.read_text()) == {"tokens": {"lab": token}}
    assert "removed lab" in ok(esctui("remote", "remove", "lab")).stdout
    assert token not in tokens.read_text()
    assert [s["name"] for s in json.loads(esctui("remote", "list", "--json").stdout)] == ["test"]
    no_token_in(outputs, token)


def test_the_token_can_come_from_an_environment_variable(esctui: Run, config_dir: Path) -> None:
    token = "e" * 40
    ok(esctui("remote", "add", "lab", "https://e.org", "--token-env", "MY_TOKEN",
              env={"MY_TOKEN": token}))  # fmt: skip
    assert json.loads((config_dir / "tokens.json").read_text())["tokens"]["lab"] == token
    missing = ok(
        esctui("remote", "add", "x", "https://e.org", "--token-env", "NOT_SET_ANYWHERE"), 2
    )
    assert "the environment variable NOT_SET_ANYWHERE is not set" in missing.stderr


def test_usage_errors_exit_2_with_a_sentence(esctui: Run) -> None:
    bad_name = ok(esctui("remote", "add", "a b", "https://e.org"), 2)
    assert "cannot name a server" in bad_name.stderr
    bad_url = ok(esctui("remote", "add", "lab", "escr.example.org"), 2)
    assert "did you mean https://escr.example.org" in bad_url.stderr
    with_password = ok(esctui("remote", "add", "lab", "https://me:secret@e.org"), 2)
    assert "user name or password" in with_password.stderr and "secret" not in with_password.stderr
    ok(esctui("remote", "add", "lab", "https://e.org"))
    taken = ok(esctui("remote", "add", "lab", "https://other.org"), 1)
    assert "already saved" in taken.stderr
    unknown = ok(esctui("remote", "check", "nope"), 1)
    assert "no server is called 'nope' (known: lab)" in unknown.stderr
    no_token = ok(esctui("remote", "check", "lab"), 1)
    assert "no token is saved for lab: log in with `esctui remote login lab --user USER`" in (
        no_token.stderr
    )
    ok(esctui("remote", "login", "lab"), 2)  # --user is required


def test_a_plain_http_address_elsewhere_gets_a_warning(esctui: Run) -> None:
    added = ok(esctui("remote", "add", "far", "http://escr.example.org", input="t" * 40))
    assert "not encrypted (http)" in added.stdout
    local = ok(esctui("remote", "add", "near", "http://127.0.0.1:8765", input="t" * 40))
    assert "not encrypted" not in local.stdout


# ------------------------------------------------------------------------------ against a server


def test_add_check_documents_with_a_real_server(
    esctui: Run, escriptorium: EscriptoriumServer, remote_project: dict, outputs: list
) -> None:
    with escriptorium.http() as http:
        for i in range(52):  # more than one page of 50
            body = {"name": f"cli doc {i:02d}", "project": remote_project["slug"],
                    "main_script": "Latin"}  # fmt: skip
            assert http.post("documents/", json=body).status_code == 201
        evil = {"name": "cli \x1b[31mred\x1b[0m", "project": remote_project["slug"],
                "main_script": "Latin"}  # fmt: skip
        assert http.post("documents/", json=evil).status_code == 201
    ok(esctui("remote", "add", "dev", escriptorium.url, input=escriptorium.token + "\n"))
    checked = ok(esctui("remote", "check", "dev")).stdout
    assert f"dev ({escriptorium.url}) answers; the token is valid: you are {escriptorium.user}" in (
        checked
    )
    assert json.loads(ok(esctui("remote", "check", "dev", "--json")).stdout)["token_valid"] is True

    table = ok(esctui("remote", "documents", "dev", "--project", remote_project["slug"])).stdout
    rows = table.splitlines()
    assert rows[0].split() == ["ID", "NAME", "PROJECT", "PAGES", "SCRIPT", "CHANGED"]
    assert len(rows) == 1 + 53
    assert "\x1b" not in table and "cli \\x1b[31mred\\x1b[0m" in table

    listed = json.loads(
        ok(
            esctui("remote", "documents", "dev", "--project", remote_project["slug"], "--json")
        ).stdout
    )
    assert len(listed) == 53
    assert "cli \x1b[31mred\x1b[0m" in {d["name"] for d in listed}  # the same value, escaped
    assert {d["project"] for d in listed} == {remote_project["slug"]}
    with escriptorium.http() as http:
        count = http.get("documents/", params={"project": remote_project["id"]}).json()["count"]
    assert count == len(listed)
    no_token_in(outputs, escriptorium.token)


def test_a_wrong_token_is_a_sentence_and_exit_1(
    esctui: Run, escriptorium: EscriptoriumServer, outputs: list
) -> None:
    wrong = "0123456789" * 4
    ok(esctui("remote", "add", "dev", escriptorium.url, "--token-env", "T", env={"T": wrong}))
    for command in (("check", "dev"), ("documents", "dev"), ("documents", "dev", "--json")):
        result = ok(esctui("remote", *command), 1)
        assert result.stdout == ""
        assert result.stderr.startswith("esctui: ") and "refused the token (Invalid token.)" in (
            result.stderr
        )
        assert "esctui remote login dev --user USER" in result.stderr
    no_token_in(outputs, wrong)


def test_login_saves_the_token_and_a_wrong_password_is_refused(
    esctui: Run, escriptorium: EscriptoriumServer, config_dir: Path, outputs: list
) -> None:
    ok(esctui("remote", "add", "dev", escriptorium.url, input=""))
    logged = ok(esctui("remote", "login", "dev", "--user", escriptorium.user,
                       input=escriptorium.password + "\n"))  # fmt: skip
    assert f"logged in to dev as {escriptorium.user}" in logged.stdout
    tokens = config_dir / "tokens.json"
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
    saved = json.loads(tokens.read_text())["tokens"]["dev"]
    assert saved == escriptorium.token
    with escriptorium.http(saved) as http:  # the saved token works on the server
        assert http.get("users/current/").json()["username"] == escriptorium.user
    assert "the token is valid" in ok(esctui("remote", "check", "dev")).stdout

    refused = ok(esctui("remote", "login", "dev", "--user", escriptorium.user,
                        input="wrong-password-77\n"), 1)  # fmt: skip
    assert "refused the user name or password" in refused.stderr
    assert json.loads(tokens.read_text())["tokens"]["dev"] == saved  # kept
    no_token_in(outputs, escriptorium.token, "wrong-password-77", escriptorium.password * 3)


def test_an_unknown_project_is_named(esctui: Run, escriptorium: EscriptoriumServer) -> None:
    ok(esctui("remote", "add", "dev", escriptorium.url, input=escriptorium.token))
    result = ok(esctui("remote", "documents", "dev", "--project", "no-such-project-x"), 1)
    assert "there is no project 'no-such-project-x'" in result.stderr


def test_a_server_that_does_not_answer(esctui: Run) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ok(esctui("remote", "add", "gone", f"http://127.0.0.1:{port}", input="a" * 40))
    result = ok(esctui("remote", "check", "gone"), 1)
    assert f"could not connect to 127.0.0.1:{port}: connection refused" in result.stderr


def test_httpx_is_not_imported_to_list_servers(tmp_path: Path) -> None:
    """The remote commands are built at every start-up: the client loads only when used."""
    probe = (
        "import sys, esctui.cli; esctui.cli.main(['remote', 'list']);print('httpx' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
        env={**os.environ, "ESCTUI_CONFIG": str(tmp_path)},
    )  # fmt: skip
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr
