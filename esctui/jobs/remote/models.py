"""Upload a kraken model to an eScriptorium server, for its own segmentation or recognition.

::

    job = ModelPushJob(store, Path("blla.mlmodel"), target, name="blla")
    await run_job(store, job)

The server loads CoreML files (``.mlmodel``) only: a safetensors file (kraken 6's format) is
refused with a sentence before anything is sent. What the model is for (Segment or Recognize,
as the server names it) is read from the file's own metadata unless given. A model of the same
name, purpose and size already on the server is not uploaded again.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from esctui.domain.errors import JobError
from esctui.domain.text import printable
from esctui.jobs.remote.common import RemoteTarget

if TYPE_CHECKING:
    from esctui.formats.kraken_model import ModelHeader
    from esctui.jobs.runner import JobContext
    from esctui.net.escriptorium import RemoteModel

#: kraken's model_type -> the server's job name (``ModelJob`` values).
SERVER_JOBS = {"segmentation": "Segment", "recognition": "Recognize"}
#: the CLI's ``--kind`` -> the server's job name.
KINDS = {"segment": "Segment", "recognize": "Recognize"}


class ModelPushJob:
    """Send one kraken model file to a server (``kind``: "segment", "recognize" or None to
    read it from the file)."""

    kind = "model_push"
    verb = "uploaded"
    document_id = None

    def __init__(
        self,
        path: Path,
        target: RemoteTarget,
        *,
        name: str | None = None,
        kind: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.target = target
        self.name = (name or self.path.stem).strip()
        self.model_kind = kind
        self.title = f"Model: {self.name} to {target.name}"
        self.uploaded: RemoteModel | None = None

    async def run(self, ctx: JobContext) -> None:
        import asyncio

        from esctui.formats.kraken_model import read_model_header
        from esctui.net.escriptorium import ModelJob, TokenRefusedError

        header = await asyncio.to_thread(read_model_header, self.path)
        job = ModelJob(server_job(header, self.model_kind, self.path.name))
        ctx.start(1)
        ctx.working_on(f"{self.path.name} ({header.byte_size / 1e6:.1f} MB)")
        try:
            async with self.target.client() as escr:
                for model in await escr.models(job):
                    if model.name == self.name and model.file_size == header.byte_size:
                        self.uploaded = model
                        ctx.report.notes.append(
                            f"{printable(self.name)!r} is already on {self.target.name} "
                            f"(model {model.pk}): not sent again"
                        )
                        ctx.report.count("models already there")
                        ctx.advance(self.path.name)
                        return
                self.uploaded = await escr.upload_model(self.path, name=self.name, job=job)
        except TokenRefusedError as error:
            raise JobError(f"{error}: esctui remote login {self.target.name} --user USER") from None
        ctx.report.add_imported(self.name, f"model {self.uploaded.pk}, {job.value}")
        ctx.report.count("bytes sent", header.byte_size)
        ctx.advance(self.path.name)


def server_job(header: ModelHeader, kind: str | None, filename: str) -> str:
    """The server's job name for a model file: from ``kind`` or from the file's metadata.
    Refuses a file the server cannot load, and a file that does not say what it is for."""
    if header.format != "coreml":
        raise JobError(
            f"{printable(filename)} is a safetensors model (kraken 6's format); eScriptorium "
            "loads CoreML models (.mlmodel) only: push the .mlmodel version of this model, or "
            "use it with esctui's own segmentation and recognition"
        )
    if kind is not None:
        try:
            return KINDS[kind]
        except KeyError:
            raise JobError(
                f"a model's kind is segment or recognize, not {printable(kind)!r}"
            ) from None
    tasks = {task for net in header.nets[:1] for task in net.tasks}
    found = sorted({SERVER_JOBS[t] for t in tasks if t in SERVER_JOBS})
    if len(found) != 1:
        said = ", ".join(sorted(tasks)) or "nothing"
        raise JobError(
            f"{printable(filename)} does not say whether it segments or recognises (its "
            f"metadata says: {printable(said)}): give --kind segment or --kind recognize"
        )
    return found[0]
