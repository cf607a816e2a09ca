"""The agent with the REAL trainer (default command, no override): the process contract end to end."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from test_agent_support import FakeOrchestrator, agent_config, running_agent
from conftest import skip_unless

pytestmark = skip_unless(
    importlib.util.find_spec("torch") is not None and importlib.util.find_spec("trainyard_worker.trainer") is not None,
    "torch or the trainer package is not available")


def tiny_spec(epochs: int = 1, train_size: int = 96) -> dict[str, Any]:
    return {
        "model": {"arch": "resnet18", "pretrained": False, "conv1": None, "maxpool": True, "num_classes": 4},
        "data": {"source": "synthetic", "path": None, "train_subset": None, "test_subset": None, "pad_to": None,
                 "resize": None, "channels": 3, "normalize": None, "augment": [],
                 "synthetic": {"train_size": train_size, "test_size": 40, "image_size": 16, "num_classes": 4}},
        "optim": {"name": "adam", "lr": 0.001, "weight_decay": 0, "momentum": 0.9, "schedule": {"name": "none"}},
        "train": {"epochs": epochs, "batch_size": 16, "seed": 0, "precision": "auto", "channels_last": True,
                  "eval_every": 1, "compile": False},
        "resources": {"gpus": 0, "min_gpu_memory_mb": 0, "labels": [], "share": False},
        "priority": 0,
        "max_restarts": 2,
    }


@pytest.fixture()
def orch():
    o = FakeOrchestrator()
    yield o
    o.close()


def test_real_trainer_runs_and_reports_through_the_agent(tmp_path: Path, orch: FakeOrchestrator) -> None:
    with running_agent(agent_config(tmp_path, orch, trainer_cmd=None)) as agent:
        orch.handshake()
        orch.send("assign", {"run_id": "real-1", "attempt": 1, "spec": tiny_spec(), "devices": [-1],
                             "resume_from": None})
        orch.expect("accepted")
        msgs = orch.collect_run("real-1", timeout=240)
        fin = msgs[-1].content
        assert fin["status"] == "succeeded", fin
        assert [m.header["seq"] for m in msgs] == list(range(1, len(msgs) + 1))
        types = {m.type for m in msgs}
        assert {"started", "metrics", "evaluation", "checkpoint", "finished"} <= types
        ev = next(m for m in msgs if m.type == "evaluation").content
        assert sum(map(sum, ev["matrix"])) == ev["samples"] == 40
        ckpt = next(m for m in msgs if m.type == "checkpoint").content
        assert Path(ckpt["path"]).exists()
        assert Path(ckpt["path"]).resolve().is_relative_to((tmp_path / "state" / "runs" / "real-1").resolve())
        assert agent.counters["bad_events"] == 0
        orch.wait_for(lambda: "real-1" not in agent.active, timeout=60, what="trainer exit")


def test_real_trainer_cancel(tmp_path: Path, orch: FakeOrchestrator) -> None:
    with running_agent(agent_config(tmp_path, orch, trainer_cmd=None, cancel_grace_s=60)) as agent:
        orch.handshake()
        orch.send("assign", {"run_id": "real-c", "attempt": 1, "spec": tiny_spec(epochs=1000, train_size=512),
                             "devices": [-1], "resume_from": None})
        orch.expect("started", lambda m: m.header["run_id"] == "real-c", timeout=240)
        orch.send("cancel", {"run_id": "real-c", "reason": "test"})
        fin = orch.expect("finished", lambda m: m.header["run_id"] == "real-c", timeout=120)
        assert fin.content["status"] == "cancelled"
        assert agent.counters["bad_events"] == 0
        orch.wait_for(lambda: "real-c" not in agent.active, timeout=60, what="trainer exit")
