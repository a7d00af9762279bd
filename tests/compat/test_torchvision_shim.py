"""The torchvision shim lets kraken's model loader import beside the CPU-only torch.

Each check runs in a fresh interpreter: torch op registrations cannot be undone in-process.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_torchvision_fails_without_the_shim_here() -> None:
    """Evidence for the shim's reason to exist; skipped where torchvision imports on its own."""
    result = _run("import torchvision")
    if result.returncode == 0:
        pytest.skip("torchvision imports without help in this environment")
    assert "torchvision::nms does not exist" in result.stderr


def test_kraken_model_loader_imports_after_install() -> None:
    result = _run(
        """
        from esctui.compat import torchvision_shim
        first = torchvision_shim.install()
        second = torchvision_shim.install()
        from kraken.models import load_models
        import torch, torchvision
        assert callable(load_models)
        assert hasattr(torch.ops.torchvision, "nms") and hasattr(torch.ops.torchvision, "qnms")
        print(first, second)
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    first, second = result.stdout.split()
    assert second == "False"  # idempotent: the second call does nothing
    # True where the CUDA build could not define the ops itself (this workplace).
    assert first in {"True", "False"}
    if _run("import torchvision").returncode != 0:
        assert first == "True"


def test_install_leaves_existing_ops_alone() -> None:
    """Where something already defined the ops (a working torchvision), install() adds nothing."""
    result = _run(
        """
        import torch
        from esctui.compat import torchvision_shim
        lib = torch.library.Library("torchvision", "FRAGMENT")
        for schema in torchvision_shim.OP_SCHEMAS.values():
            lib.define(schema)
        print(torchvision_shim.install())
        import torchvision
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"


def test_install_does_nothing_once_torchvision_is_imported() -> None:
    result = _run(
        """
        import sys, types
        from esctui.compat import torchvision_shim
        sys.modules["torchvision"] = types.ModuleType("torchvision")
        print(torchvision_shim.install())
        import torch
        print(hasattr(torch.ops.torchvision, "nms"))
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["False", "False"]
