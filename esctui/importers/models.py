"""Upload a kraken model: validate it with kraken in a limited child process, then store it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from esctui.domain import Model
from esctui.domain.errors import ConflictError
from esctui.store import Store


def add_model(store: Store, path: str | Path, *, name: str | None = None) -> Model:
    """Validate ``path`` with kraken and store a copy. Raises ModelError / ConflictError."""
    from esctui.formats.kraken_model import read_model_header, suggested_name, validate_model

    source = Path(path).expanduser()
    read_model_header(source)  # cheap checks first: no torch for junk files
    with tempfile.TemporaryDirectory(dir=store.models_dir()) as tmp:
        copy = Path(tmp) / f"upload{source.suffix.lower()}"
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
