"""``esctui remote add|login|list|check|remove|documents``: the eScriptorium servers you use.

Servers and tokens are kept in the config folder (``$ESCTUI_CONFIG`` or the user config dir,
``--config-dir``), never in a data folder; tokens in a file only you can read, never shown.
Imported at CLI start-up: the client (and httpx) are imported only when a command runs.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import ipaddress
import json
import os
import sys
from typing import Any

from esctui.cli.context import CliContext, UsageError
from esctui.domain.text import printable, terminal_safe_json
from esctui.jobs.remote.common import RemoteTarget, target_for
from esctui.store.remotes import RemoteConfigError, RemoteRegistry, RemoteServer

ADD_DESCRIPTION = """\
Save an eScriptorium server under a short NAME. The token (your eScriptorium profile page,
"API key") is read from the environment variable named by --token-env, or else from standard
input (asked without echo on a terminal; the first line when piped). Without a token, log in
later with `esctui remote login NAME --user USER`. TLS certificates are verified unless
--insecure is given (only for your own test server with a self-signed certificate).
"""


def register(commands, imports, common) -> None:  # noqa: ANN001 - argparse internals
    options = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    options.add_argument("--json", action="store_true", help="machine-readable output")
    options.add_argument(
        "--config-dir",
        metavar="DIR",
        help="config folder with the saved servers (default: $ESCTUI_CONFIG, else the user "
        "config folder)",
    )
    parser = commands.add_parser(
        "remote", help="eScriptorium servers: add, log in, check, list documents",
        parents=[options],
    )  # fmt: skip
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = sub.add_parser(
        "add", help="save a server and its token", parents=[options],
        description=ADD_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.add_argument("name", metavar="NAME", help="a short name: letters, digits, . _ -")
    p.add_argument("url", metavar="URL", help="the server's address, e.g. https://escr.example.org")
    p.add_argument(
        "--token-env", metavar="VAR", help="read the token from this environment variable"
    )
    p.add_argument(
        "--insecure", action="store_true", help="do not verify the server's TLS certificate"
    )
    p.set_defaults(handler=add_remote)

    p = sub.add_parser(
        "login", parents=[options],
        help="get a token with your user name and password (the password is asked, not shown)",
    )  # fmt: skip
    p.add_argument("name", metavar="NAME")
    p.add_argument("--user", dest="login_user", metavar="USER", required=True)
    p.set_defaults(handler=login_remote)

    p = sub.add_parser("list", help="the saved servers (tokens are not shown)", parents=[options])
    p.set_defaults(handler=list_remotes)

    p = sub.add_parser(
        "check", help="is the server reachable, is the token valid, who am I", parents=[options]
    )
    p.add_argument("name", metavar="NAME")
    p.set_defaults(handler=check_remote)

    p = sub.add_parser(
        "remove", help="forget a server and its token (nothing changes on the server)",
        parents=[options],
    )  # fmt: skip
    p.add_argument("name", metavar="NAME")
    p.set_defaults(handler=remove_remote)

    p = sub.add_parser(
        "documents", help="list the documents on a server (all pages of the list)",
        parents=[options],
    )  # fmt: skip
    p.add_argument("name", metavar="NAME")
    p.add_argument("--project", metavar="SLUG", help="only the documents of this project")
    p.set_defaults(handler=list_remote_documents)

    from esctui.cli.remote_work import register_remote_actions  # it imports this module

    register_remote_actions(sub, common)


# ------------------------------------------------------------------------------ helpers


def _registry(args: argparse.Namespace) -> RemoteRegistry:
    return RemoteRegistry(getattr(args, "config_dir", None))


def _emit_json(value: Any) -> None:
    """JSON on stdout, with anything a terminal would act on written as an escape."""
    sys.stdout.write(terminal_safe_json(json.dumps(value, ensure_ascii=False, indent=2)) + "\n")


def _run(coroutine: Any, name: str) -> Any:
    """Run a client call; a refused token gets the login command for this server."""
    from esctui.net.escriptorium import TokenRefusedError

    try:
        return asyncio.run(coroutine)
    except TokenRefusedError as error:
        error.args = (f"{error}: esctui remote login {name} --user USER",)
        raise


def _client(server: RemoteServer, token: str | None):  # noqa: ANN202 - lazy import
    from esctui.net.escriptorium import EscriptoriumClient

    return EscriptoriumClient(server.url, token, insecure=server.insecure)


def _saved_token(registry: RemoteRegistry, server: RemoteServer) -> str:
    return target_for(registry, server.name).token


def remote_target(args: argparse.Namespace, name: str) -> RemoteTarget:
    """The saved server ``name`` with its token, for a job (``jobs.remote.common.target_for``)."""
    return target_for(_registry(args), name)


def _read_secret(prompt: str) -> str:
    """A secret from the terminal without echo, or the first line of standard input."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\r\n")


def _tls(server: RemoteServer) -> str:
    if not server.url.startswith("https:"):
        return "none (http)"
    return "not verified" if server.insecure else "verified"


def _unencrypted_remote(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme != "http":
        return False
    host = parts.hostname or ""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


# ------------------------------------------------------------------------------ commands


def add_remote(args: argparse.Namespace, cli: CliContext) -> int:
    registry = _registry(args)
    if args.token_env:
        if args.token_env not in os.environ:
            raise UsageError(f"the environment variable {args.token_env} is not set")
        token: str | None = os.environ[args.token_env]
    else:
        token = _read_secret(f"Token for {args.name} (input hidden; Enter for none): ")
    token = (token or "").strip() or None
    try:
        server = registry.add(RemoteServer(args.name, args.url, args.insecure), token)
    except RemoteConfigError as error:
        raise UsageError(str(error)) from None
    if cli.json_output:
        _emit_json({**server.to_record(), "has_token": token is not None})
        return 0
    saved = "with its token" if token else "without a token"
    cli.print(f"saved {server.name} ({server.url}) {saved}")
    if server.insecure:
        cli.print("note      its TLS certificate will not be verified (--insecure)")
    if _unencrypted_remote(server.url):
        cli.print("note      the address is not encrypted (http): the token travels in clear")
    follow = "check" if token else "login"
    extra = "" if token else " --user USER"
    cli.print(f"next      esctui remote {follow} {server.name}{extra}")
    return 0


def login_remote(args: argparse.Namespace, cli: CliContext) -> int:
    registry = _registry(args)
    server = registry.get(args.name)
    password = _read_secret(f"Password for {args.login_user} on {server.url}: ")
    if not password:
        raise UsageError("no password given")

    async def login() -> str:
        async with _client(server, None) as escr:
            return await escr.obtain_token(args.login_user, password)

    token = _run(login(), server.name)
    registry.set_token(server.name, token)
    if cli.json_output:
        _emit_json({"name": server.name, "user": args.login_user, "has_token": True})
    else:
        cli.print(
            f"logged in to {server.name} as {printable(args.login_user)}; the token is saved "
            f"in {registry.folder / 'tokens.json'} (readable by you only)"
        )
    return 0


def list_remotes(args: argparse.Namespace, cli: CliContext) -> int:
    registry = _registry(args)
    servers = registry.servers()
    rows = [(server, registry.has_token(server.name)) for server in servers]
    if cli.json_output:
        _emit_json([{**s.to_record(), "has_token": has} for s, has in rows])
    elif not rows:
        cli.print("No servers saved yet: esctui remote add NAME URL")
    else:
        cli.table(
            [
                [
                    printable(s.name),
                    printable(s.url),
                    _tls(s),
                    "saved" if has else "none",
                ]
                for s, has in rows
            ],
            ["NAME", "URL", "TLS", "TOKEN"],
        )
    return 0


def check_remote(args: argparse.Namespace, cli: CliContext) -> int:
    registry = _registry(args)
    server = registry.get(args.name)
    token = _saved_token(registry, server)

    async def who() -> Any:
        async with _client(server, token) as escr:
            return await escr.current_user()

    user = _run(who(), server.name)
    if cli.json_output:
        _emit_json(
            {"name": server.name, "url": server.url, "reachable": True, "token_valid": True,
             "user": user.username, "is_staff": user.is_staff}
        )  # fmt: skip
    else:
        staff = " (staff)" if user.is_staff else ""
        cli.print(
            f"{server.name} ({server.url}) answers; the token is valid: you are "
            f"{printable(user.username)}{staff}"
        )
    return 0


def remove_remote(args: argparse.Namespace, cli: CliContext) -> int:
    server = _registry(args).remove(args.name)
    if cli.json_output:
        _emit_json({"removed": server.name})
    else:
        cli.print(f"removed {server.name} and its token (nothing was changed on the server)")
    return 0


def list_remote_documents(args: argparse.Namespace, cli: CliContext) -> int:
    registry = _registry(args)
    server = registry.get(args.name)
    token = _saved_token(registry, server)

    async def listing() -> Any:
        async with _client(server, token) as escr:
            project = await escr.project(args.project) if args.project else None
            return await escr.documents(project.id if project else None)

    documents = _run(listing(), server.name)
    if cli.json_output:
        _emit_json(
            [
                {
                    "pk": d.pk,
                    "name": d.name,
                    "project": d.project_slug,
                    "project_id": d.project_id,
                    "pages": d.parts_count,
                    "main_script": d.main_script,
                    "read_direction": d.read_direction,
                    "line_offset": d.line_offset,
                    "layers": [layer.name for layer in d.layers],
                    "updated_at": d.updated_at,
                }
                for d in documents
            ]
        )
    elif not documents:
        where = f" in project {printable(args.project)}" if args.project else ""
        cli.print(f"No documents on {server.name}{where}")
    else:
        cli.table(
            [
                [
                    str(d.pk),
                    printable(d.name),
                    printable(d.project_slug),
                    "" if d.parts_count is None else str(d.parts_count),
                    printable(d.main_script),
                    d.updated_at[:16].replace("T", " "),
                ]
                for d in documents
            ],
            ["ID", "NAME", "PROJECT", "PAGES", "SCRIPT", "CHANGED"],
        )
    return 0
