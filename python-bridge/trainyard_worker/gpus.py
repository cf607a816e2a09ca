"""GPU and CPU inventory and live stats for hello and heartbeats. Nothing here ever raises.

GPUs come from nvidia-smi (the agent must not import torch). Indexes are nvidia-smi's, i.e. PCI bus order;
the agent starts trainers with CUDA_DEVICE_ORDER=PCI_BUS_ID so that CUDA_VISIBLE_DEVICES means the same.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import subprocess
import time
from typing import Any

log = logging.getLogger("trainyard.gpus")

NVIDIA_SMI_TIMEOUT_S = 2.0
_QUERY = "index,name,memory.total,memory.used,utilization.gpu,temperature.gpu"


def _num(text: str) -> float | None:
    """nvidia-smi writes '[N/A]', '[Not Supported]', 'N/A' or '' for missing values."""
    t = text.strip()
    try:
        v = float(t)
    except ValueError:
        return None
    return v if v == v and v not in (float("inf"), float("-inf")) else None


def parse_nvidia_smi(text: str) -> list[dict[str, Any]]:
    """Rows of `--query-gpu=index,name,memory.total,memory.used,utilization.gpu,temperature.gpu
    --format=csv,noheader,nounits`. Malformed rows are skipped."""
    rows: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        raw = line.split(",")
        if len(raw) < 6:
            continue
        # A GPU name could contain a comma: the name is everything between index and the last four fields.
        index_s, name, rest = raw[0].strip(), ",".join(raw[1:-4]).strip(), raw[-4:]
        try:
            index = int(index_s)
        except ValueError:
            continue
        if index < 0:
            continue
        total, used, util, temp = (_num(x) for x in rest)
        rows.append({
            "index": index,
            "name": name or f"GPU {index}",
            "memory_total_mb": int(total) if total is not None else None,
            "memory_used_mb": int(used) if used is not None else None,
            "utilization_pct": util,
            "temperature_c": temp,
        })
    return rows


_warned: set[str] = set()


def _warn_once(msg: str) -> None:
    # Stats are sampled every second: a persistent problem is worth one line, not one per sample.
    if msg not in _warned and len(_warned) < 100:
        _warned.add(msg)
        log.warning("%s", msg)


def _visible_filter(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Honour CUDA_VISIBLE_DEVICES given to the agent itself (integer lists only; '' hides every GPU)."""
    cvd = os.environ.get("CUDA_VISIBLE_DEVICES")
    if cvd is None:
        return rows
    cvd = cvd.strip()
    if cvd == "":
        return []
    try:
        allowed = [int(x) for x in cvd.split(",") if x.strip()]
    except ValueError:
        return rows  # GPU UUIDs or MIG ids: cannot map to indexes without NVML, keep all
    return [r for r in rows if r["index"] in allowed]


def query_nvidia_smi(binary: str | None = None, timeout_s: float = NVIDIA_SMI_TIMEOUT_S) -> list[dict[str, Any]]:
    exe = binary or shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        proc = subprocess.run([exe, f"--query-gpu={_QUERY}", "--format=csv,noheader,nounits"],
                              capture_output=True, encoding="utf-8", errors="replace", timeout=timeout_s,
                              check=False)
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        _warn_once(f"nvidia-smi failed: {e}")
        return []
    if proc.returncode != 0:
        _warn_once(f"nvidia-smi exited {proc.returncode}: {(proc.stderr or '').strip()[:200]}")
        return []
    try:
        return _visible_filter(parse_nvidia_smi(proc.stdout))
    except Exception as e:  # noqa: BLE001 - stats must never take the agent down
        _warn_once(f"cannot parse nvidia-smi output: {e}")
        return []


# ---- CPU -------------------------------------------------------------------------------------------

def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def _meminfo_mb() -> tuple[int | None, int | None]:
    """(total, used) in MB from /proc/meminfo; used = total - available."""
    total = avail = None
    try:
        with open("/proc/meminfo", encoding="ascii", errors="replace") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key == "MemTotal":
                    total = int(rest.split()[0]) // 1024
                elif key == "MemAvailable":
                    avail = int(rest.split()[0]) // 1024
    except (OSError, ValueError, IndexError):
        return None, None
    return total, (total - avail if total is not None and avail is not None else None)


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class CpuSampler:
    """CPU utilization between successive calls (psutil when importable, else /proc/stat)."""

    def __init__(self) -> None:
        try:
            import psutil  # noqa: PLC0415 - optional dependency
            self._psutil: Any = psutil
            psutil.cpu_percent(interval=None)  # primes the counter; the first reading is meaningless
        except Exception:  # noqa: BLE001
            self._psutil = None
        self._last: tuple[int, int] | None = self._proc_stat()

    @staticmethod
    def _proc_stat() -> tuple[int, int] | None:
        try:
            with open("/proc/stat", encoding="ascii") as f:
                fields = [int(x) for x in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        if len(fields) < 4:
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields[:8]), idle

    def cpu_pct(self) -> float | None:
        try:
            if self._psutil is not None:
                return float(self._psutil.cpu_percent(interval=None))
            now = self._proc_stat()
            last, self._last = self._last, now
            if now is None or last is None or now[0] <= last[0]:
                return None
            busy = (now[0] - last[0]) - (now[1] - last[1])
            return round(100.0 * busy / (now[0] - last[0]), 1)
        except Exception:  # noqa: BLE001
            return None

    def mem_mb(self) -> tuple[int | None, int | None]:
        try:
            if self._psutil is not None:
                vm = self._psutil.virtual_memory()
                return int(vm.total // 2**20), int((vm.total - vm.available) // 2**20)
        except Exception:  # noqa: BLE001
            pass
        return _meminfo_mb()


# ---- public API ------------------------------------------------------------------------------------

def cpu_device() -> dict[str, Any]:
    total, _ = _meminfo_mb()
    return {"index": -1, "kind": "cpu", "name": f"{_cpu_name()} ({cpu_count()} cores)", "memory_total_mb": total or 0}


def devices(nvidia_smi: str | None = None) -> list[dict[str, Any]]:
    """DeviceInfo list for hello: every visible CUDA GPU, then the CPU device {index: -1, kind: 'cpu'}."""
    out: list[dict[str, Any]] = []
    try:
        for r in query_nvidia_smi(nvidia_smi):
            out.append({"index": r["index"], "kind": "cuda", "name": r["name"],
                        "memory_total_mb": r["memory_total_mb"] or 0})
    except Exception as e:  # noqa: BLE001
        log.warning("GPU inventory failed: %s", e)
    try:
        out.append(cpu_device())
    except Exception:  # noqa: BLE001
        out.append({"index": -1, "kind": "cpu", "name": "cpu", "memory_total_mb": 0})
    return out


_default_sampler: CpuSampler | None = None


def stats(nvidia_smi: str | None = None, sampler: CpuSampler | None = None) -> dict[str, Any]:
    """{devices: [DeviceStats per GPU], cpu_pct, mem_used_mb, mem_total_mb, taken_at} for heartbeats."""
    global _default_sampler
    out: dict[str, Any] = {"devices": [], "cpu_pct": None, "mem_used_mb": None, "mem_total_mb": None,
                           "taken_at": time.time()}
    try:
        out["devices"] = [{k: r[k] for k in ("index", "utilization_pct", "memory_used_mb", "memory_total_mb",
                                              "temperature_c")} for r in query_nvidia_smi(nvidia_smi)]
    except Exception as e:  # noqa: BLE001
        log.warning("GPU stats failed: %s", e)
    try:
        if sampler is None:
            if _default_sampler is None:
                _default_sampler = CpuSampler()
            sampler = _default_sampler
        out["cpu_pct"] = sampler.cpu_pct()
        out["mem_total_mb"], out["mem_used_mb"] = sampler.mem_mb()
    except Exception as e:  # noqa: BLE001
        log.warning("CPU stats failed: %s", e)
    return out
