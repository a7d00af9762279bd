"""``StoreAccess``: what a screen needs to reach the app's store, typed, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from esctui.store import Store


class StoreAccess:
    """Mixin for screens (put it before ``Screen``): ``self.store`` is the app's Store."""

    @property
    def store(self) -> Store:
        return self.app.store  # type: ignore[attr-defined]
