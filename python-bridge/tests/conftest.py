"""Shared helpers for the trainer tests (test_model, test_data, test_augment, test_loop, test_checkpoint,
test_summary, test_distributed)."""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

BRIDGE = Path(__file__).resolve().parent.parent
if str(BRIDGE) not in sys.path:
    sys.path.insert(0, str(BRIDGE))

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


class ListSink:
    """Collects trainer events in memory (the RunEvents sink interface)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def send(self, frame: bytes) -> None:
        self.events.append(json.loads(frame))

    def close(self) -> None:
        pass

    def of(self, type_: str) -> list[dict[str, Any]]:
        return [e["content"] for e in self.events if e["type"] == type_]


def tiny_spec(**over: Any) -> dict[str, Any]:
    """A fast synthetic run: 16x16 images, few samples, one epoch."""
    spec: dict[str, Any] = {
        "model": {"num_classes": 4},
        "data": {"source": "synthetic", "pad_to": None, "channels": 3,
                 "synthetic": {"train_size": 96, "test_size": 40, "image_size": 16, "num_classes": 4, "seed": 3}},
        "train": {"epochs": 1, "batch_size": 16, "seed": 5},
    }
    for path, value in over.items():
        node = spec
        keys = path.split("__")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = copy.deepcopy(value)
    return spec


def make_job(tmp_path: Path, spec: dict[str, Any], run_id: str = "run-1", **extra: Any) -> dict[str, Any]:
    from trainyard_worker.trainer.job import validate_job

    job = {"run_id": run_id, "attempt": 0, "spec": spec, "devices": [], "resume_from": None,
           "run_dir": str(tmp_path / run_id), **extra}
    return validate_job(job)


def write_job(tmp_path: Path, spec: dict[str, Any], run_id: str = "run-1", **extra: Any) -> Path:
    run_dir = tmp_path / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    job = {"run_id": run_id, "attempt": 0, "spec": spec, "devices": [], "resume_from": None,
           "run_dir": str(run_dir), **extra}
    path = run_dir / "job.json"
    path.write_text(json.dumps(job))
    return path


def trainer_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TRAINYARD_EVENTS_ENDPOINT", "RANK", "WORLD_SIZE",
                                                             "LOCAL_RANK", "LOCAL_WORLD_SIZE")}
    env["PYTHONPATH"] = str(BRIDGE) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["CUDA_VISIBLE_DEVICES"] = ""
    env.update(extra)
    return env


def use_all_cores() -> None:
    """Debian's torch starts with one thread; the trainer uses every core, and so do its tests."""
    import torch

    torch.set_num_threads(len(os.sched_getaffinity(0)))


# Under CI (and `npm test`, which installs every prerequisite) a missing prerequisite must fail the
# test, not skip it: a skipped test proves nothing. Skipping is only for a developer's partial setup.
STRICT = os.environ.get("CI", "").lower() in ("1", "true") or os.environ.get("TRAINYARD_REQUIRE_PG") == "1"


def skip_unless(available: bool, reason: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(not available and not STRICT, reason=reason)


needs_fashion_mnist = skip_unless((FASHION_MNIST / "train-images-idx3-ubyte.gz").exists(),
                                  "Debian's dataset-fashion-mnist is not installed")
