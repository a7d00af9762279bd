"""A real eScriptorium server for tests: the session fixture ``escriptorium`` (a pytest plugin,
registered in tests/conftest.py as a plugin, so any test file can ask for it).

Which server:

* ``ESCR_URL`` and ``ESCR_TOKEN`` set and the server answers with that token: that one is
  used as it is (borrowed: never stopped, killed or restarted by the tests);
* otherwise one is started with ``start-escriptorium.sh`` (from ``$ESCTUI_ESCR_SCRIPTS``,
  default ``../shared/escriptorium`` beside the repository) in ``ESCR_HOME =
  ${ESCTUI_ESCR_HOME:-/tmp/esctui-escriptorium}``, a stable folder, so its venv, database and
  source are kept between sessions (about 12 s instead of minutes for a fresh install), on free
  ports (or ``ESCTUI_ESCR_PORT``/``_PG_PORT``/``_REDIS_PORT``), and stopped with
  ``stop-escriptorium.sh`` when the session ends. ``ESCR_INSTALLER`` (pip or uv) is passed on;
  the default here is uv (see ``DEFAULT_INSTALLER``).

The server is started once per session, before the first test runs (``pytest_collection_finish``,
only when a collected test uses the fixture), so its start-up does not count against a test's
timeout. A file lock in ESCR_HOME keeps two sessions from sharing or starting it at once.
Processes left running by a session that crashed are stopped first (by their recorded pids).

Tests that use the fixture are marked ``remote`` automatically (``-m "not remote"`` skips them).
For fault tests an own server offers ``daphne_pid``, ``kill_daphne()`` and ``restart()``; on a
borrowed server those tests are skipped (``require_own_server()``).

``remote_project`` (function scope) is a project with a unique name, created and deleted with
plain httpx calls, its documents deleted with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

SCRIPTS = Path(
    os.environ.get(
        "ESCTUI_ESCR_SCRIPTS", Path(__file__).resolve().parents[3] / "shared" / "escriptorium"
    )
)
DEFAULT_HOME = "/tmp/esctui-escriptorium"
DEFAULT_INSTALLER = "uv"
START_TIMEOUT = 1800  # a fresh install on a slow, busy machine
LOCK_WAIT = 1800  # another session using the same ESCR_HOME


@dataclass
class EscriptoriumServer:
    """A running eScriptorium: where it is, its token, and (when this session started it) its
    processes."""

    url: str
    token: str
    user: str = "admin"
    password: str = "admin"
    home: Path | None = None  # ESCR_HOME when this session started it
    owned: bool = False
    start_seconds: float = 0.0  # how long the start took
    env: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    # ------------------------------------------------------------------ checks from tests

    def http(self, token: str | None = None) -> httpx.Client:
        """A plain httpx client on the API with the token: for tests to look at the server
        side themselves, not through the client under test."""
        return httpx.Client(
            base_url=self.api_url,
            headers={"Authorization": f"Token {token or self.token}"},
            timeout=60,
        )

    def answers(self, timeout: float = 5) -> bool:
        return answers(self.url, self.token, timeout)

    @staticmethod
    def unique(label: str = "") -> str:
        """A name no other test (or other engineer on a shared server) uses."""
        return f"esctui-test-{uuid.uuid4().hex[:10]}" + (f"-{label}" if label else "")

    # ------------------------------------------------------------------ faults (own server)

    def require_own_server(self) -> None:
        """Skip the test unless this session started the server (never kill a borrowed one)."""
        if not self.owned or self.home is None:
            pytest.skip(
                "this test stops or kills the server: it runs only on a server the test "
                "session started itself (unset ESCR_URL/ESCR_TOKEN)"
            )

    @property
    def daphne_pid(self) -> int:
        """The pid of the daphne process serving the API."""
        self.require_own_server()
        assert self.home is not None
        return int((self.home / "run" / "daphne.pid").read_text().strip())

    def kill_daphne(self, sig: int = signal.SIGKILL, timeout: float = 10) -> None:
        """Kill the API server process (the database, Redis and Celery keep running)."""
        pid = self.daphne_pid
        os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)

    def restart(self) -> float:
        """Stop everything and start it again on the same ports, database and token; returns
        the seconds it took."""
        self.require_own_server()
        started = time.monotonic()
        _stop(self.home, self.env)
        fresh = _start(self.home, self.env)
        self.url, self.token = fresh.url, fresh.token
        return time.monotonic() - started

    def stop(self) -> None:
        if self.owned and self.home is not None:
            _stop(self.home, self.env)


def answers(url: str, token: str, timeout: float = 5) -> bool:
    """The server answers ``GET /api/users/current/`` with this token."""
    try:
        response = httpx.get(
            f"{url.rstrip('/')}/api/users/current/",
            headers={"Authorization": f"Token {token}"},
            timeout=timeout,
        )
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):  # a zombie (killed, not yet reaped) counts as gone
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


def _script_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ESCR_URL", "ESCR_TOKEN")}
    env["ESCR_HOME"] = str(home)
    env["PORT"] = os.environ.get("ESCTUI_ESCR_PORT") or str(_free_port())
    env["ESCR_PG_PORT"] = os.environ.get("ESCTUI_ESCR_PG_PORT") or str(_free_port())
    env["ESCR_REDIS_PORT"] = os.environ.get("ESCTUI_ESCR_REDIS_PORT") or str(_free_port())
    env.setdefault("ESCR_INSTALLER", DEFAULT_INSTALLER)
    return env


def _leftovers(home: Path) -> list[int]:
    """Pids recorded in ESCR_HOME/run that still run (a session that crashed)."""
    alive = []
    for pidfile in (home / "run").glob("*.pid"):
        with contextlib.suppress(ValueError, OSError):
            pid = int(pidfile.read_text().strip())
            if _alive(pid):
                alive.append(pid)
    return alive


def _start(home: Path, env: dict[str, str]) -> EscriptoriumServer:
    script = SCRIPTS / "start-escriptorium.sh"
    log = home / "run" / "fixture-start.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("wb") as out:
        result = subprocess.run(
            ["bash", str(script)], env=env, stdout=out, stderr=subprocess.STDOUT,
            timeout=START_TIMEOUT, check=False,
        )  # fmt: skip
    seconds = time.monotonic() - started
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise RuntimeError(f"start-escriptorium.sh failed (exit {result.returncode}):\n{tail}")
    values = _read_env_file(home / "run" / "escriptorium.env")
    return EscriptoriumServer(
        url=values["ESCR_URL"], token=values["ESCR_TOKEN"],
        user=values.get("ESCR_USER", "admin"), password=values.get("ESCR_PASSWORD", "admin"),
        home=home, owned=True, start_seconds=seconds, env=env,
    )  # fmt: skip


def _stop(home: Path | None, env: dict[str, str]) -> None:
    if home is None:
        return
    subprocess.run(
        ["bash", str(SCRIPTS / "stop-escriptorium.sh")],
        env={**env, "ESCR_HOME": str(home)}, capture_output=True, timeout=120, check=False,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# The session: one server, started before the first test


class _Session:
    """What this pytest session holds: the server (or why there is none) and the lock."""

    def __init__(self) -> None:
        self.server: EscriptoriumServer | None = None
        self.failure: str | None = None
        self.lock: object | None = None

    def open(self) -> None:
        url, token = os.environ.get("ESCR_URL"), os.environ.get("ESCR_TOKEN")
        if url and token and answers(url, token):
            self.server = EscriptoriumServer(
                url=url.rstrip("/"), token=token,
                user=os.environ.get("ESCR_USER", "admin"),
                password=os.environ.get("ESCR_PASSWORD", "admin"),
            )  # fmt: skip
            return
        if not (SCRIPTS / "start-escriptorium.sh").is_file():  # a failure: never a silent skip
            self.failure = (
                f"no eScriptorium server: ESCR_URL/ESCR_TOKEN not set (or not answering) and "
                f"no start-escriptorium.sh in {SCRIPTS} (set ESCTUI_ESCR_SCRIPTS, or deselect "
                f"these tests with -m 'not remote')"
            )
            return
        from filelock import FileLock, Timeout

        home = Path(os.environ.get("ESCTUI_ESCR_HOME") or DEFAULT_HOME)
        home.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(home / ".esctui-test-session.lock"), timeout=LOCK_WAIT)
        try:
            lock.acquire()
        except Timeout:
            self.failure = f"another test session has used the eScriptorium in {home} too long"
            return
        self.lock = lock
        env = _script_env(home)
        try:
            if _leftovers(home):
                _stop(home, env)
            self.server = _start(home, env)
        except (RuntimeError, subprocess.TimeoutExpired, KeyError, OSError) as error:
            _stop(home, env)
            self.failure = f"could not start eScriptorium in {home}: {error}"

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.lock is not None:
            self.lock.release()  # type: ignore[attr-defined]


_SESSION_KEY = pytest.StashKey[_Session]()


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that uses the server is a ``remote`` test."""
    for item in items:
        if "escriptorium" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.remote)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start (or find) the server before the first test, if a selected test needs it."""
    if session.config.option.collectonly:
        return
    if not any("escriptorium" in getattr(i, "fixturenames", ()) for i in session.items):
        return
    state = _Session()
    session.config.stash[_SESSION_KEY] = state
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    started = time.monotonic()
    state.open()
    if reporter is not None and state.server is not None:
        how = "started" if state.server.owned else "using"
        reporter.write_line(
            f"eScriptorium: {how} {state.server.url} ({time.monotonic() - started:.1f} s)"
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_SESSION_KEY, None)
    if state is not None:
        state.close()


@pytest.fixture(scope="session")
def escriptorium(request: pytest.FixtureRequest) -> EscriptoriumServer:
    """The session's eScriptorium server (see the module docstring)."""
    state = request.config.stash.get(_SESSION_KEY, None)
    if state is None:  # e.g. asked for by a fixture pytest did not see at collection
        state = _Session()
        request.config.stash[_SESSION_KEY] = state
        state.open()
    if state.failure or state.server is None:
        pytest.fail(state.failure or "no eScriptorium server", pytrace=False)
    return state.server


@pytest.fixture
def remote_project(escriptorium: EscriptoriumServer) -> Iterator[dict]:
    """A new project with a unique name (plain httpx); deleted afterwards, with its documents."""
    with escriptorium.http() as http:
        response = http.post("projects/", json={"name": escriptorium.unique("project")})
        response.raise_for_status()
        project = response.json()
        try:
            yield project
        finally:
            with contextlib.suppress(httpx.HTTPError):
                http.delete(f"projects/{project['id']}/")
