"""What the remote jobs share: the server they talk to, bounded workers, page order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from esctui.domain.errors import EsctuiError

if TYPE_CHECKING:  # httpx (under the client) is imported only when a job runs
    from esctui.net.escriptorium import EscriptoriumClient
    from esctui.net.http import RequestLimits
    from esctui.store.remotes import RemoteRegistry

T = TypeVar("T")
DEFAULT_CONCURRENCY = 4  # requests at once: the server (often 2 cores) is the limit


class NoTokenError(EsctuiError):
    """A saved server without a token: the user has to log in first."""


@dataclass(frozen=True)
class RemoteTarget:
    """A server to talk to: its base address, the token (never shown), TLS checking, and a
    short name for messages."""

    name: str
    url: str
    token: str
    insecure: bool = False

    def __repr__(self) -> str:  # the token never appears in a repr
        return f"RemoteTarget({self.name!r}, {self.url!r})"

    def client(self, limits: RequestLimits | None = None) -> EscriptoriumClient:
        from esctui.net.escriptorium import EscriptoriumClient

        return EscriptoriumClient(self.url, self.token, insecure=self.insecure, limits=limits)


def target_for(registry: RemoteRegistry, name: str) -> RemoteTarget:
    """The server saved as ``name`` with its token, for a job; NotFoundError for an unknown
    name, NoTokenError saying how to log in when no token is saved."""
    server = registry.get(name)
    token = registry.token(server.name)
    if token is None:
        raise NoTokenError(
            f"no token is saved for {server.name}: log in with "
            f"`esctui remote login {server.name} --user USER`"
        )
    return RemoteTarget(server.name, server.url, token, server.insecure)


async def run_bounded(
    items: Sequence[T], work: Callable[[T], Awaitable[None]], concurrency: int
) -> None:
    """``work(item)`` for every item, at most ``concurrency`` at once, started in order. The
    first error (``work`` handles the ones that concern one item) cancels the rest and is
    raised as it is (not as an exception group)."""
    queue = list(reversed(items))

    async def worker() -> None:
        while queue:
            await work(queue.pop())

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(max(1, min(concurrency, len(items)))):
                group.create_task(worker())
    except BaseExceptionGroup as errors:
        first = _first(errors)
        raise first from None


async def document_exists(escr: EscriptoriumClient, document: int) -> bool:
    """Whether the remote document is still there (for a request that failed under it)."""
    from esctui.net.escriptorium import RemoteNotFoundError

    try:
        await escr.document(document)
    except RemoteNotFoundError:
        return False
    return True


def _first(group: BaseExceptionGroup) -> BaseException:
    """The error to report from a group: an EsctuiError (a sentence) before anything else."""
    flat: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        error = stack.pop(0)
        if isinstance(error, BaseExceptionGroup):
            stack.extend(error.exceptions)
        else:
            flat.append(error)
    for error in flat:
        if isinstance(error, EsctuiError):
            return error
    return flat[0]


def moves_for_order(current: Sequence[int], wanted: Sequence[int]) -> list[tuple[int, int]]:
    """The ``(page pk, index)`` moves (each: put the page at that 0-based index) that give the
    pages of ``wanted`` that order in ``current``, pages not in ``wanted`` keeping their
    places among them as far as they can. Few moves when the order is nearly right."""
    order = list(current)
    ours = [pk for pk in wanted if pk in order]
    moves: list[tuple[int, int]] = []
    if not ours:
        return moves
    for index, pk in enumerate(ours):
        if index == 0:
            target = min(order.index(other) for other in ours)
        else:
            target = order.index(ours[index - 1]) + 1
        if order[target] == pk if target < len(order) else False:
            continue
        order.remove(pk)
        target = order.index(ours[index - 1]) + 1 if index else min(target, len(order))
        order.insert(target, pk)
        moves.append((pk, target))
    return moves
