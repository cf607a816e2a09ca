from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BRIDGE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BRIDGE))

from trainyard_worker import __version__, introspect  # noqa: E402


def test_versions_without_importing_torch() -> None:
    code = ("import json, sys; from trainyard_worker import introspect; v = introspect.versions(); "
            "print(json.dumps([v, 'torch' in sys.modules]))")
    r = subprocess.run([sys.executable, "-c", code], cwd=BRIDGE, capture_output=True, text=True, timeout=60, check=True)
    v, imported = json.loads(r.stdout)
    assert imported is False
    import torch
    import torchvision
    assert v["torch"] == torch.__version__.split("+")[0] or v["torch"] == torch.__version__
    assert v["torchvision"] == torchvision.__version__.split("+")[0] or v["torchvision"] == torchvision.__version__
    assert v["cuda"] == torch.version.cuda
    assert v["worker"] == __version__ and v["python"] == ".".join(map(str, sys.version_info[:3]))


def test_versions_of_a_missing_package_read_none(monkeypatch) -> None:
    monkeypatch.setattr(introspect, "_read_version_file", lambda pkg: {})
    monkeypatch.setattr(introspect, "_dist_version", lambda name: None)
    v = introspect.versions()
    assert v["torch"] == "none" and v["torchvision"] == "none" and v["cuda"] is None


def test_env_reports_torch_and_devices() -> None:
    import torch
    e = introspect.env()
    json.dumps(e)  # pythonia hands it to JS as is
    assert e["torch"] == str(torch.__version__)
    assert e["cuda_available"] == torch.cuda.is_available()
    assert e["cuda_version"] == torch.version.cuda
    assert e["executable"] == sys.executable and e["error"] is None
    assert len(e["devices"]) == (torch.cuda.device_count() if torch.cuda.is_available() else 0)
    for d in e["devices"]:
        assert set(d) == {"index", "name", "memory_total_mb"} and d["memory_total_mb"] > 0


def test_env_without_torch_is_an_answer_not_a_crash() -> None:
    code = ("import sys, json; sys.modules['torch'] = None; from trainyard_worker import introspect; "
            "print(json.dumps(introspect.env()))")
    r = subprocess.run([sys.executable, "-c", code], cwd=BRIDGE, capture_output=True, text=True, timeout=60, check=True)
    e = json.loads(r.stdout)
    assert e["torch"] is None and e["cuda_available"] is False and "torch" in e["error"]
