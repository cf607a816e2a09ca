"""Short synchronous questions the orchestrator asks through pythonia (GET /api/env). JSON-only results.

torch is imported inside the functions: pythonia's Python child starts fast and only pays for torch on
the first question that needs it.
"""

from __future__ import annotations

import importlib.util
import platform
import re
import sys
from pathlib import Path
from typing import Any

from . import __version__


def _read_version_file(package: str) -> dict[str, str | None]:
    """__version__ and cuda from <package>/version.py without importing the package (fast, torch-free)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return {}
    if spec is None or not spec.submodule_search_locations:
        return {}
    for loc in spec.submodule_search_locations:
        path = Path(loc) / "version.py"
        try:
            text = path.read_text("utf-8", errors="replace")
        except OSError:
            continue
        out: dict[str, str | None] = {}
        m = re.search(r"^__version__\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", text, re.M)
        if m:
            out["version"] = m.group(1)
        m = re.search(r"^cuda\s*(?::[^=]*)?=\s*(?:['\"]([^'\"]*)['\"]|None)", text, re.M)
        if m:
            out["cuda"] = m.group(1) or None
        return out
    return {}


def _dist_version(name: str) -> str | None:
    try:
        import importlib.metadata as md  # noqa: PLC0415
        return md.version(name)
    except Exception:  # noqa: BLE001
        return None


def versions() -> dict[str, Any]:
    """HelloContent.versions without importing torch: {python, torch, torchvision, cuda, worker}.

    A package that is not installed reads 'none'.
    """
    torch_v = _read_version_file("torch")
    tv_v = _read_version_file("torchvision")
    return {
        "python": platform.python_version(),
        "torch": torch_v.get("version") or _dist_version("torch") or "none",
        "torchvision": tv_v.get("version") or _dist_version("torchvision") or "none",
        "cuda": torch_v.get("cuda"),
        "worker": __version__,
    }


def env() -> dict[str, Any]:
    """{python, torch, torchvision, cuda_available, cuda_version, devices: [{index, name, memory_total_mb}],
    executable, worker, error}. Never raises: a broken or missing torch is reported in `error`."""
    out: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": None,
        "torchvision": None,
        "cuda_available": False,
        "cuda_version": None,
        "devices": [],
        "executable": sys.executable,
        "worker": __version__,
        "error": None,
    }
    try:
        import torch  # noqa: PLC0415
    except Exception as e:  # noqa: BLE001
        out["error"] = f"torch is not importable: {e}"
        return out
    out["torch"] = str(torch.__version__)
    out["cuda_version"] = getattr(torch.version, "cuda", None)
    try:
        import torchvision  # noqa: PLC0415
        out["torchvision"] = str(torchvision.__version__)
    except Exception as e:  # noqa: BLE001
        out["error"] = f"torchvision is not importable: {e}"
    try:
        out["cuda_available"] = bool(torch.cuda.is_available())
        if out["cuda_available"]:
            for i in range(torch.cuda.device_count()):
                p = torch.cuda.get_device_properties(i)
                out["devices"].append({"index": i, "name": str(p.name),
                                       "memory_total_mb": int(p.total_memory // 2**20)})
    except Exception as e:  # noqa: BLE001
        out["error"] = f"CUDA query failed: {e}"
    return out
