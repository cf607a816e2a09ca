from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainyard_worker import gpus  # noqa: E402

SAMPLE = """0, NVIDIA A100-SXM4-80GB, 81920, 1024, 37, 45
1, NVIDIA H100 80GB HBM3, 81559, [N/A], [Not Supported], 51
not a gpu line
2, Weird, Name, With Commas, 16384, 100, 5, 30

-1, bogus, 1, 1, 1, 1
"""


def fake_smi(tmp: Path, body: str) -> str:
    path = tmp / "nvidia-smi"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_parse_nvidia_smi_is_robust() -> None:
    rows = gpus.parse_nvidia_smi(SAMPLE)
    assert [r["index"] for r in rows] == [0, 1, 2]
    assert rows[0] == {"index": 0, "name": "NVIDIA A100-SXM4-80GB", "memory_total_mb": 81920, "memory_used_mb": 1024,
                       "utilization_pct": 37.0, "temperature_c": 45.0}
    assert rows[1]["memory_used_mb"] is None and rows[1]["utilization_pct"] is None
    assert rows[2]["name"] == "Weird, Name, With Commas" and rows[2]["memory_total_mb"] == 16384
    assert gpus.parse_nvidia_smi("") == [] and gpus.parse_nvidia_smi("garbage\n\x00") == []


def test_devices_and_stats_from_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    smi = fake_smi(tmp_path, f"cat <<'EOF'\n{SAMPLE}EOF\n")
    devs = gpus.devices(smi)
    assert [(d["index"], d["kind"]) for d in devs] == [(0, "cuda"), (1, "cuda"), (2, "cuda"), (-1, "cpu")]
    assert devs[1] == {"index": 1, "kind": "cuda", "name": "NVIDIA H100 80GB HBM3", "memory_total_mb": 81559}
    st = gpus.stats(smi)
    assert st["devices"][0] == {"index": 0, "utilization_pct": 37.0, "memory_used_mb": 1024,
                                "memory_total_mb": 81920, "temperature_c": 45.0}
    json.dumps(st)  # heartbeat-ready
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,0")
    assert [d["index"] for d in gpus.devices(smi)] == [0, 2, -1]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert [d["index"] for d in gpus.devices(smi)] == [-1]


def test_no_nvidia_smi_means_cpu_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no nvidia-smi anywhere
    devs = gpus.devices()
    assert len(devs) == 1 and devs[0]["index"] == -1 and devs[0]["kind"] == "cpu"
    assert devs[0]["memory_total_mb"] > 0 and devs[0]["name"]
    st = gpus.stats()
    assert st["devices"] == []
    assert st["mem_used_mb"] is not None and 0 < st["mem_used_mb"] <= st["mem_total_mb"]


def test_failing_or_hanging_nvidia_smi_never_raises(tmp_path: Path) -> None:
    assert gpus.query_nvidia_smi(fake_smi(tmp_path, "echo 'NVIDIA-SMI has failed' >&2; exit 9\n")) == []
    assert gpus.query_nvidia_smi(fake_smi(tmp_path, "head -c 300 /dev/urandom\n")) == []
    assert gpus.query_nvidia_smi(fake_smi(tmp_path, "sleep 30\n"), timeout_s=0.3) == []
    assert gpus.query_nvidia_smi(str(tmp_path / "missing")) == []
    not_exec = tmp_path / "plain"
    not_exec.write_text("x")
    assert gpus.devices(str(not_exec))[-1]["index"] == -1


def test_cpu_sampler_with_and_without_psutil() -> None:
    s = gpus.CpuSampler()
    s.cpu_pct()
    v = s.cpu_pct()
    assert v is None or 0.0 <= v <= 100.0 * gpus.cpu_count()
    proc_only = gpus.CpuSampler()
    proc_only._psutil = None  # the /proc fallback
    sum(range(200000))  # a little busy time between the two readings
    v = proc_only.cpu_pct()
    assert v is None or 0.0 <= v <= 100.0
    total, used = proc_only.mem_mb()
    assert total and used is not None and 0 < used <= total
