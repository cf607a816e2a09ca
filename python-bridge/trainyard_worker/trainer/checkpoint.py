"""Checkpoints: one dict per epoch plus a final one, written atomically, restored exactly.

A checkpoint holds the model, optimizer, scheduler (and AMP scaler), the epoch count, the position inside an
interrupted epoch, every RNG state (python, numpy, torch CPU and CUDA, and the trainer's own shuffle and
augmentation generators) and the spec with its digest. It contains only tensors and plain Python values, so
it loads with torch.load(weights_only=True) (the default from torch 2.6 on; used from torch 2.0 on, since
torch 1.x's weights-only unpickler cannot read floats).
"""

from __future__ import annotations

import io
import os
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

FORMAT = "trainyard-checkpoint/1"
_SAFE_LOAD = int(torch.__version__.split(".")[0]) >= 2
EPOCH_FILE = re.compile(r"^epoch-(\d+)\.pt$")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used for this run; the message names the file."""


def save_checkpoint(path: Path, state: dict[str, Any]) -> int:
    """Write atomically (temp file in the same folder, fsync, rename); returns the size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return path.stat().st_size


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise CheckpointError(f"checkpoint {p}: cannot read ({e.strerror or e})") from None
    try:
        if _SAFE_LOAD:
            ck = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        else:  # torch 1.x: its weights-only unpickler cannot read floats; these files are the trainer's own
            ck = torch.load(io.BytesIO(data), map_location="cpu")
    except Exception as e:  # noqa: BLE001
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"checkpoint {p}: not readable (truncated or corrupt?): {first}") from None
    if not isinstance(ck, dict) or ck.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {p}: not a trainyard checkpoint ({FORMAT})")
    for key in ("model", "optimizer", "epoch", "rng", "spec_digest"):
        if key not in ck:
            raise CheckpointError(f"checkpoint {p}: missing '{key}'")
    return ck


def link_or_copy(src: Path, dst: Path) -> int:
    """final.pt for a run that ended on an epoch boundary is the last epoch's file: a hard link, not a rewrite."""
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    if tmp.exists():
        tmp.unlink()
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
    return dst.stat().st_size


def prune_epoch_checkpoints(folder: Path, keep: int) -> None:
    """Keep the newest `keep` epoch-NNNN.pt files (final.pt is never touched)."""
    if keep <= 0 or not folder.is_dir():
        return
    files = sorted((int(m.group(1)), p) for p in folder.iterdir() if (m := EPOCH_FILE.match(p.name)))
    for _, p in files[:-keep]:
        try:
            p.unlink()
        except OSError:
            pass


# ---- RNG states ------------------------------------------------------------------------------------

def capture_rng(generators: dict[str, torch.Generator]) -> dict[str, Any]:
    np_state = np.random.get_state()
    out: dict[str, Any] = {
        "python": _py_state(random.getstate()),
        "numpy": {"name": str(np_state[0]), "keys": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "torch": torch.get_rng_state(),
        "cuda": [s for s in torch.cuda.get_rng_state_all()] if torch.cuda.is_available() else [],
        "generators": {k: g.get_state() for k, g in generators.items()},
    }
    return out


def restore_rng(state: dict[str, Any], generators: dict[str, torch.Generator]) -> None:
    random.setstate(_py_state_back(state["python"]))
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if torch.cuda.is_available() and state.get("cuda"):
        cuda = state["cuda"][: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all(cuda)
    for k, g in generators.items():
        if k in state.get("generators", {}):
            g.set_state(state["generators"][k])


def _py_state(s: tuple[Any, ...]) -> list[Any]:
    version, internal, gauss = s
    return [int(version), torch.tensor(internal, dtype=torch.int64), gauss]


def _py_state_back(s: list[Any]) -> tuple[Any, ...]:
    version, internal, gauss = s
    return (int(version), tuple(int(v) for v in internal.tolist()), gauss)


def plain_scheduler_state(sched: Any) -> dict[str, Any] | None:
    """A scheduler's state without callables (torch 1.x OneCycleLR keeps a bound method in its state)."""
    if sched is None:
        return None
    return {k: v for k, v in sched.state_dict().items() if not callable(v)}
