"""kraken model files: header checks without torch, and validation by kraken in a child process.

Fast tests build their (bad) files in a temporary folder and never start kraken. Slow tests
share one module fixture that makes real models with kraken's own code (in a subprocess) and
one that validates every file, two at a time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import pickle
import random
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from esctui.formats.kraken_model import (
    MAX_PARAMETERS,
    ModelError,
    ModelInfo,
    estimate_parameters,
    read_model_header,
    sandbox,
    suggested_name,
    validate_model,
    vgsl_parameter_count,
)
from esctui.formats.kraken_model.worker import failure_result, loader_errors
from tests.helpers import CORPUS

OVERFIT = CORPUS / "models" / "overfit.mlmodel"
OVERFIT_BL = CORPUS / "models" / "overfit_bl.safetensors"
OLD_METADATA = CORPUS / "invalid" / "model_small_old_metadata.mlmodel"
_kraken_spec = importlib.util.find_spec("kraken")  # finds the package without importing it
assert _kraken_spec is not None and _kraken_spec.submodule_search_locations
BLLA = Path(_kraken_spec.submodule_search_locations[0]) / "blla.mlmodel"
BLLA_SPEC_START = "[1,1800,0,3 "
BLLA_PARAMETERS = 1_261_540

# Specs covering every layer kind of kraken 7's VGSL grammar (series, parallel, transposed
# and dilated convolutions, legacy LSTMs, reshape, addition, wav2vec2, group norm).
SPECS = [
    "[1,120,0,1 Cr3,13,32 Do0.1,2 Mp2,2 Cr3,13,32 Do0.1,2 Mp2,2 Cr3,9,64 Do0.1,2 Mp2,2 "
    "Cr3,9,64 Do0.1,2 S1(1x0)1,3 Lbx200 Do0.1,2 Lbx200 Do0.1,2 Lbx200 Do O1c57]",
    "[1,1800,0,3 Cr7,7,64,2,2 Gn32 Cr3,3,128,2,2 Gn32 Cr3,3,128 Gn32 Cr3,3,256 Gn32 "
    "Cr3,3,256 Gn32 Lbx32 Lby32 Cr1,1,32 Gn32 Lby32 Lbx32 O2l8]",
    "[1,48,0,1 Cr3,3,16 ([Cr3,3,8 Cr3,3,8] Cr3,3,8) Mp2,2,1,1 S1(1x0)1,3 Lfx32 O1ca12]",
    "[1,64,0,1 Cr3,3,8,2,2 CTr3,3,8,2,2 Gn4 S1(1x0)1,3 Lbxc16 Lfys8 O1c10]",
    "[1,32,0,1 Cr3,3,8 (I Cr3,3,8) A3,8 S1(1x0)1,3 Lbxo16 O1c5]",
    "[1,16,0,1 Cr3,3,4 S1(1x0)1,3 W{w}8,4,0.5,2 O1c5]",
    "[1,0,0,3 Cr3,3,16 Mp3,3 Cr5,5,32,1,1,2,2 O2s3]",
]

# Runs in a fresh interpreter: builds models with kraken's own classes and writers.
MAKE_MODELS = """
import json, sys
from pathlib import Path
from esctui.compat import torchvision_shim
torchvision_shim.install()
from kraken.lib.codec import PytorchCodec
from kraken.lib.ro import ROMLP
from kraken.lib.vgsl import TorchVGSLModel
from kraken.models import convert_models, load_models, write_coreml, write_safetensors

out, blla, specs = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
convert_models([blla], out / "blla.safetensors")  # what `ketos convert` runs
net = TorchVGSLModel(
    vgsl="[1,16,0,1 Cr3,3,8 S1(1x0)1,3 Lbx16 O1c6]",
    codec=PytorchCodec("abcdé").c2l,
    model_type=["recognition"],
    seg_type="baselines",
    one_channel_mode="L",
    hyper_params={"epochs": 3, "completed_epochs": 3},
    model_name="Tiny test model",
    license="CC0-1.0",
    authors=[{"name": "A. Historian"}],
)
write_safetensors([net], out / "tiny.safetensors")
write_coreml([net], out / "tiny.mlmodel")
(segmentation,) = load_models(blla)
mapping = segmentation.user_metadata["class_mapping"]["baselines"]
reading_order = ROMLP(class_mapping=mapping, level="baselines")
write_safetensors([segmentation, reading_order], out / "seg_with_ro.safetensors")
counts = {s: sum(p.numel() for p in TorchVGSLModel(vgsl=s).parameters()) for s in specs}
print(json.dumps(counts))
"""


# --------------------------------------------------------------------------- helpers


def _raw_safetensors(path: Path, metadata: dict[str, str]) -> Path:
    """A safetensors file holding only a header (no tensors), as an attacker can write one."""
    header = json.dumps({"__metadata__": metadata}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    return path


def _kraken_meta(vgsl: str) -> dict[str, str]:
    net = {
        "_kraken_min_version": "5.0.0",
        "_tasks": ["recognition"],
        "_model": "TorchVGSLModel",
        "vgsl": vgsl,
        "codec": {"a": [1], "b": [2]},
    }
    return {"kraken_meta": json.dumps({"c0ffee": net})}


def _no_child_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a child process was started")

    monkeypatch.setattr(sandbox.subprocess, "Popen", refuse)


def _refused(path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The header check's message; validate_model must refuse the same way without a child."""
    with pytest.raises(ModelError) as from_header:
        read_model_header(path)
    _no_child_process(monkeypatch)
    with pytest.raises(ModelError) as from_validation:
        validate_model(path)
    assert str(from_validation.value) == str(from_header.value)
    return str(from_header.value)


class _Unpickled:
    """Unpickling this writes a marker file: proof that something ran pickle.loads."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (self.marker, "unpickled!"))


# --------------------------------------------------------------------------- fast: header


def test_empty_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "empty.mlmodel"
    path.write_bytes(b"")
    assert "empty.mlmodel is empty" in _refused(path, monkeypatch)


def test_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "models.mlmodel"
    folder.mkdir()
    assert "is a folder" in _refused(folder, monkeypatch)


def test_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "There is no file" in _refused(tmp_path / "nothing.mlmodel", monkeypatch)


def test_random_bytes_named_mlmodel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "random.mlmodel"
    path.write_bytes(random.Random(5).randbytes(64 * 1024))
    message = _refused(path, monkeypatch)
    assert "is not a kraken model" in message
    assert "neither a CoreML" in message


@pytest.mark.parametrize("source", [BLLA, OVERFIT, OVERFIT_BL], ids=lambda p: p.name)
def test_truncated_real_model(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = source.read_bytes()
    path = tmp_path / source.name
    path.write_bytes(data[: len(data) * 2 // 3])
    message = _refused(path, monkeypatch)
    assert "ends too early" in message or "cut short" in message


def test_safetensors_without_kraken_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "other.safetensors"
    save_file({"weight": np.ones((3, 3), dtype=np.float32)}, str(path), metadata={"by": "x"})
    assert "without kraken metadata" in _refused(path, monkeypatch)


@pytest.mark.parametrize(
    ("claimed_length", "words"),
    [(5_000, "the file has only"), (2**40, "refuses headers over 100 MB")],
)
def test_absurd_safetensors_header_length(
    claimed_length: int, words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "absurd.safetensors"
    path.write_bytes(struct.pack("<Q", claimed_length) + b'{"__metadata__": {}}')
    assert words in _refused(path, monkeypatch)


@pytest.mark.parametrize(
    "vgsl",
    [
        "[1,48,0,1 Lbx100000 O1c10]",  # tens of billions of weights: above the limit
        "[1,48,0,1 Cr3,3,64 Lbx2000 O1c10]",  # ~33 million: under it, but not in the file
    ],
)
def test_huge_vgsl_fails_fast_in_header(
    vgsl: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _raw_safetensors(tmp_path / "huge.safetensors", _kraken_meta(vgsl))
    assert path.stat().st_size < 400  # the size of the attack described in issue #5
    start = time.perf_counter()
    message = _refused(path, monkeypatch)
    assert time.perf_counter() - start < 1.0
    assert "asks for about" in message
    assert "weights" in message


def test_reshape_that_would_allocate_a_huge_tensor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kraken's reshape layer builds a zero tensor of its input shape when it sets up."""
    vgsl = "[1,200000,200000,1 S1(1x0)1,3 O1c3]"
    path = _raw_safetensors(tmp_path / "reshape.safetensors", _kraken_meta(vgsl))
    assert "build a tensor of" in _refused(path, monkeypatch)


def test_huge_coreml_vgsl_fails_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same limit for CoreML: a real CoreML file whose VGSL spec is swapped for a huge one."""
    data = OLD_METADATA.read_bytes()
    small, huge = b"[1,48,0,1 Cr{C_0}4,2,1,4,2 O{O_1}1c4]", b"[1,48,0,1 Lbx{L_0}99999999 O{O_1}1c4]"
    assert small in data and len(small) == len(huge)  # keeps every protobuf length valid
    path = tmp_path / "huge.mlmodel"
    path.write_bytes(data.replace(small, huge))
    assert f"above {MAX_PARAMETERS // 10**6} million" in _refused(path, monkeypatch)


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("model.ckpt", "pickle"),
        ("checkpoint.pt", "zip"),  # torch.save writes a zip holding a pickle
        ("renamed.mlmodel", "pickle"),
        ("renamed.safetensors", "pickle"),
    ],
)
def test_pickled_checkpoint_is_never_unpickled(
    name: str, payload: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "marker.txt"
    data = pickle.dumps({"state_dict": {}, "trap": _Unpickled(marker)}, protocol=4)
    path = tmp_path / name
    if payload == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("archive/data.pkl", data)
    else:
        path.write_bytes(data)
    message = _refused(path, monkeypatch)
    assert "does not load pickled checkpoints" in message
    assert "ketos convert" in message
    assert not marker.exists()
    pickle.loads(data)  # the trap works: unpickling would have written the marker
    assert marker.exists()


def test_header_of_real_models_matches_what_they_hold() -> None:
    blla = read_model_header(BLLA)
    assert blla.format == "coreml"
    assert blla.byte_size == BLLA.stat().st_size
    (net,) = blla.nets
    assert net.tasks == ("segmentation",)
    assert net.vgsl is not None and net.vgsl.startswith(BLLA_SPEC_START)
    assert net.estimated_parameters == BLLA_PARAMETERS
    assert set(net.metadata["class_mapping"]) == {"aux", "baselines", "regions"}

    overfit = read_model_header(OVERFIT_BL)
    assert overfit.format == "safetensors"
    (net,) = overfit.nets
    assert net.tasks == ("recognition",)
    assert net.model_class == "TorchVGSLModel"
    assert net.min_kraken_version == "5.0.0"
    assert net.estimated_parameters == overfit.stored_values  # every weight is in the file

    old = read_model_header(OLD_METADATA)  # structurally fine: kraken decides about it
    assert old.nets[0].tasks == ()


def test_header_reading_needs_no_torch() -> None:
    code = f"""
        import sys
        from esctui.formats.kraken_model import read_model_header
        for path in {[str(BLLA), str(OVERFIT), str(OVERFIT_BL), str(OLD_METADATA)]!r}:
            read_model_header(path)
        heavy = {{"torch", "kraken", "coremltools", "safetensors", "numpy"}} & set(sys.modules)
        print(sorted(heavy))
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_estimates_of_other_kraken_model_classes() -> None:
    # ROMLP: two linear layers sized from the number of classes (kraken/lib/ro/layers.py).
    features = 2 * (3 + 1) + 12
    expected = features * 2 * features + 2 * features + 2 * features + 1
    assert estimate_parameters("ROMLP", {"class_mapping": {"a": 1, "b": 3}}) == expected
    assert estimate_parameters("PPOCRv6Model", {"variant": "tiny", "num_classes": 2}) == 550_550
    assert estimate_parameters("PPOCRv6Model", {"variant": "huge", "num_classes": 2}) is None
    assert estimate_parameters("SomethingNew", {}) is None
    assert vgsl_parameter_count("[1,48,0,1 Xq12 O1c3]") is None  # unknown layer: kraken decides


def test_child_that_dies_without_an_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "WORKER_MODULE", "esctui.formats.no_such_worker")
    with pytest.raises(ModelError) as refused:
        validate_model(OVERFIT)
    assert str(refused.value) == (
        "overfit.mlmodel: the process loading the model failed without giving a reason; "
        "the file was refused."
    )


def test_loader_error_split_and_memory_classification() -> None:
    message = (
        "No loader found for /x/m.mlmodel. Tried:\n"
        "  coreml: Invalid `model_type` metadata in /x/m.mlmodel: expected string.\n"
        "  safetensors: Invalid safetensors file /x/m.mlmodel: header too large"
    )
    assert loader_errors(message) == {
        "coreml": "Invalid `model_type` metadata in /x/m.mlmodel: expected string.",
        "safetensors": "Invalid safetensors file /x/m.mlmodel: header too large",
    }
    wrapped = ValueError("Failed to instantiate model TorchVGSLModel")
    wrapped.__cause__ = RuntimeError("DefaultCPUAllocator: can't allocate memory: 9 GB")
    assert failure_result(wrapped, 0)["kind"] == "memory"
    assert failure_result(ValueError("No VGSL spec"), 0)["kind"] == "kraken"


# --------------------------------------------------------------------------- slow: kraken


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Models written by kraken's own code, plus kraken's weight counts for SPECS."""
    folder = tmp_path_factory.mktemp("kraken_made")
    result = subprocess.run(
        [sys.executable, "-c", MAKE_MODELS, str(folder), str(BLLA), json.dumps(SPECS)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    tiny = folder / "tiny.safetensors"
    tensors = load_file(str(tiny))
    with tiny.open("rb") as stream:  # the metadata, read as the format defines it
        length = struct.unpack("<Q", stream.read(8))[0]
        metadata = json.loads(stream.read(length))["__metadata__"]
    missing = dict(tensors)
    missing.pop(sorted(missing)[0])
    save_file(missing, str(folder / "missing_tensor.safetensors"), metadata=metadata)
    newer = json.loads(metadata["kraken_meta"])
    for net in newer.values():
        net["_kraken_min_version"] = "99.0"
    save_file(
        tensors,
        str(folder / "needs_newer_kraken.safetensors"),
        metadata={"kraken_meta": json.dumps(newer)},
    )
    return {"folder": folder, "counts": counts}


@pytest.fixture(scope="module")
def validated(made: dict[str, Any]) -> dict[str, ModelInfo | ModelError]:
    """validate_model on every file, two children at a time (this box has two cores)."""
    folder: Path = made["folder"]
    jobs: dict[str, tuple[Path, dict[str, Any]]] = {
        "blla.mlmodel": (BLLA, {}),
        "blla.safetensors": (folder / "blla.safetensors", {}),
        "overfit.mlmodel": (OVERFIT, {}),
        "overfit_bl.safetensors": (OVERFIT_BL, {}),
        "tiny.safetensors": (folder / "tiny.safetensors", {}),
        "tiny.mlmodel": (folder / "tiny.mlmodel", {}),
        "seg_with_ro.safetensors": (folder / "seg_with_ro.safetensors", {}),
        "old_metadata": (OLD_METADATA, {}),
        "missing_tensor": (folder / "missing_tensor.safetensors", {}),
        "needs_newer_kraken": (folder / "needs_newer_kraken.safetensors", {}),
        "memory": (BLLA, {"memory_limit_bytes": 800 * 2**20}),
        "timeout": (BLLA, {"timeout": 1.0}),
    }

    def run(job: tuple[Path, dict[str, Any]]) -> ModelInfo | ModelError:
        path, options = job
        try:
            return validate_model(path, **options)
        except ModelError as error:
            return error

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(jobs, pool.map(run, jobs.values()), strict=True))
    return results


def _info(validated: dict[str, ModelInfo | ModelError], key: str) -> ModelInfo:
    result = validated[key]
    assert isinstance(result, ModelInfo), f"{key} was refused: {result}"
    return result


def _error(validated: dict[str, ModelInfo | ModelError], key: str) -> str:
    result = validated[key]
    assert isinstance(result, ModelError), f"{key} was accepted"
    return str(result)


@pytest.mark.slow
def test_vgsl_estimates_equal_kraken_counts(made: dict[str, Any]) -> None:
    counts = made["counts"]
    assert set(counts) == set(SPECS)
    for spec in SPECS:
        assert vgsl_parameter_count(spec) == counts[spec], spec


@pytest.mark.slow
@pytest.mark.parametrize("key", ["blla.mlmodel", "blla.safetensors"])
def test_segmentation_model(validated: dict[str, Any], key: str) -> None:
    info = _info(validated, key)
    assert info.format == ("coreml" if key.endswith(".mlmodel") else "safetensors")
    assert info.kinds == ["segmentation"]
    (net,) = info.nets
    assert net.tasks == ["segmentation"]
    assert net.classes == {"baselines": ["default"], "regions": ["text"]}
    assert net.alphabet is None
    assert net.legacy_polygons is None  # a recognition-only setting
    assert net.vgsl is not None and net.vgsl.startswith(BLLA_SPEC_START)
    assert net.parameters == BLLA_PARAMETERS == read_model_header(info.path).estimated_parameters
    assert net.min_kraken_version == "5.0.0"
    assert net.training.epochs == 50
    assert net.training.accuracy == pytest.approx(0.595, abs=0.001)
    assert net.training.hyper_params["optimizer"] == "Adam"
    assert info.byte_size == info.path.stat().st_size
    assert info.sha256 == hashlib.sha256(info.path.read_bytes()).hexdigest()
    assert suggested_name(info, info.path) == "blla"
    json.dumps(info.to_record())


@pytest.mark.slow
def test_conversion_keeps_everything_but_the_bytes(validated: dict[str, Any]) -> None:
    coreml, converted = _info(validated, "blla.mlmodel"), _info(validated, "blla.safetensors")
    assert coreml.sha256 != converted.sha256
    assert coreml.nets == converted.nets


@pytest.mark.slow
def test_recognition_models_from_the_corpus(validated: dict[str, Any]) -> None:
    overfit = _info(validated, "overfit.mlmodel")
    (net,) = overfit.nets
    assert overfit.kinds == ["recognition"]
    assert net.seg_type == "bbox"
    assert net.alphabet and "ܐ" in net.alphabet
    assert list(net.alphabet) == sorted(set(net.alphabet))
    assert net.training.epochs == 162
    assert net.legacy_polygons is True

    overfit_bl = _info(validated, "overfit_bl.safetensors")
    (net,) = overfit_bl.nets
    assert net.seg_type == "baselines"
    assert net.one_channel_mode == "L"
    codec = read_model_header(OVERFIT_BL).nets[0].metadata["codec"]
    assert net.alphabet == "".join(sorted(codec))  # kraken's codec, as the header states it
    assert net.parameters == read_model_header(OVERFIT_BL).estimated_parameters


@pytest.mark.slow
@pytest.mark.parametrize("key", ["tiny.safetensors", "tiny.mlmodel"])
def test_tiny_model_made_with_kraken(validated: dict[str, Any], key: str) -> None:
    info = _info(validated, key)
    (net,) = info.nets
    assert net.kind == "recognition"
    assert net.alphabet == "abcdé"
    assert net.seg_type == "baselines"
    assert net.one_channel_mode == "L"
    assert net.training.name == "Tiny test model"
    assert net.training.license == "CC0-1.0"
    assert net.training.authors == ["A. Historian"]
    assert net.training.epochs == 3
    assert net.parameters == vgsl_parameter_count("[1,16,0,1 Cr3,3,8 S1(1x0)1,3 Lbx16 O1c6]")
    assert suggested_name(info, info.path) == "Tiny test model"


@pytest.mark.slow
def test_one_file_with_segmentation_and_reading_order(validated: dict[str, Any]) -> None:
    info = _info(validated, "seg_with_ro.safetensors")
    assert info.kinds == ["segmentation", "reading order"]
    segmentation, reading_order = info.nets
    assert segmentation.classes == {"baselines": ["default"], "regions": ["text"]}
    assert reading_order.model_class == "ROMLP"
    assert reading_order.classes == {"baselines": ["default"]}
    header = read_model_header(info.path)
    assert [n.estimated_parameters for n in header.nets] == [n.parameters for n in info.nets]


@pytest.mark.slow
def test_kraken_refusal_is_shown_in_its_own_words(validated: dict[str, Any]) -> None:
    message = _error(validated, "old_metadata")
    assert "kraken cannot load this model" in message
    assert "Invalid `model_type` metadata" in message
    assert "model_small_old_metadata.mlmodel" in message
    assert str(CORPUS) not in message  # the file name is enough
    assert "safetensors" not in message  # only the loader for this file's format


@pytest.mark.slow
def test_weights_that_do_not_match_the_network(validated: dict[str, Any]) -> None:
    message = _error(validated, "missing_tensor")
    assert "do not match the network" in message
    assert "1 missing, 0 unexpected" in message


@pytest.mark.slow
def test_model_declaring_a_newer_kraken(validated: dict[str, Any]) -> None:
    """kraken 7.1.1 checks its class's minimum version only; esctui reports the file's."""
    info = _info(validated, "needs_newer_kraken")
    assert info.kraken_version == "7.1.1"
    assert info.nets[0].min_kraken_version == "99.0"
    assert info.notes == [
        "The file says its recognition model needs kraken 99.0 or newer; "
        "kraken 7.1.1 loaded it anyway."
    ]
    assert _info(validated, "tiny.safetensors").notes == []


@pytest.mark.slow
def test_memory_limit(validated: dict[str, Any]) -> None:
    message = _error(validated, "memory")
    assert (
        message
        == "blla.mlmodel: the model needed more than 800 MB of memory while loading — refused."
    )


@pytest.mark.slow
def test_time_limit(validated: dict[str, Any]) -> None:
    message = _error(validated, "timeout")
    assert message == "blla.mlmodel: kraken took more than 1 s to load the model — refused."
