"""Upload a kraken model: validate it with kraken in a limited child process, then store it."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from esctui.domain import Model
from esctui.domain.errors import ConflictError
from esctui.store import Store

if TYPE_CHECKING:
    from esctui.jobs.runner import JobContext


def add_model(store: Store, path: str | Path, *, name: str | None = None) -> Model:
    """Validate ``path`` with kraken and store a copy. Raises ModelError / ConflictError."""
    from esctui.formats.kraken_model import read_model_header, suggested_name, validate_model

    source = Path(path).expanduser()
    read_model_header(source)  # cheap checks first: no torch for junk files
    # The pid in the name lets the store sweep a copy left by a killed process.
    with tempfile.TemporaryDirectory(
        prefix=f".upload-{os.getpid()}-", dir=store.models_dir()
    ) as tmp:
        copy = Path(tmp) / source.name  # kraken's messages then name the user's file
        shutil.copyfile(source, copy)  # validate and hash our own copy, not the user's file
        info = validate_model(copy)
        existing = store.find_model_by_hash(info.sha256)
        if existing is not None:
            raise ConflictError(
                f"{source.name} is the same file as the model {existing.name!r} already uploaded."
            )
        model = Model(
            name=(name or suggested_name(info, source)).strip(),
            filename="",
            original_filename=source.name,
            owner=store.user,
            sha256=info.sha256,
            byte_size=info.byte_size,
            kinds=list(info.kinds),
            metadata=info.to_record(),
        )
        model.filename = f"{model.id}{source.suffix.lower()}"
        return store.add_model(model, copy)


class ModelUpload:
    """A model upload as a job: kraken's validation takes seconds, so it runs like an import
    (in the background, listed on the Jobs screen with its report)."""

    kind = "model"
    verb = "uploaded"
    document_id = None

    def __init__(self, store: Store, path: str | Path, *, name: str | None = None) -> None:
        self.store = store
        self.path = Path(path).expanduser()
        self.name = name
        self.title = f"Model: {self.path.name}"
        self.model: Model | None = None

    async def run(self, ctx: JobContext) -> None:
        ctx.start(1)
        ctx.working_on(f"validating {self.path.name} with kraken")
        self.model = await asyncio.to_thread(add_model, self.store, self.path, name=self.name)
        kinds = ", ".join(self.model.kinds) or "unknown kind"
        ctx.report.add_imported(self.model.name, kinds)
        ctx.advance(self.path.name)
