"""DDP on CPU: two gloo processes under torchrun train one run; rank 0 alone reports, both end identical."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import tiny_spec, trainer_env, write_job

from trainyard_worker.trainer.torchrun import patch_std_from_str


def test_two_gloo_ranks_report_once_and_end_identical(tmp_path):
    spec = tiny_spec(train__epochs=2, train__batch_size=8)
    spec["data"]["synthetic"].update(train_size=64, test_size=25)
    job = write_job(tmp_path, spec, "ddp")
    cmd = [sys.executable, "-m", "trainyard_worker.trainer.torchrun", "--standalone", "--nproc_per_node", "2",
           "-m", "trainyard_worker.trainer", "--job", str(job)]
    p = subprocess.run(cmd, env=trainer_env(), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    events = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    types = [e["type"] for e in events]
    assert types.count("started") == 1 and types.count("finished") == 1  # only rank 0 reports
    assert events[-1]["content"] == {"status": "succeeded", "error": None, "epochs_completed": 2}
    started = events[0]["content"]
    assert "DDP rank 0 of 2, gloo" in started["device"]
    # each rank trains on its half: 64 / 2 / 8 = 4 steps per epoch
    assert {e["content"]["steps_per_epoch"] for e in events if e["type"] == "progress"} == {4}
    evals = [e["content"] for e in events if e["type"] == "evaluation"]
    assert [e["samples"] for e in evals] == [25, 25]  # the ranks' halves of the test split, summed
    ends = [p for e in events if e["type"] == "metrics" for p in e["content"]["points"] if p["key"] == "train_acc"
            and p["step"] % 4 == 0]
    assert len(ends) == 2
    digests = [(tmp_path / "ddp" / "ranks" / f"rank-{r}.sha256").read_text().strip() for r in (0, 1)]
    assert len(digests[0]) == 64 and digests[0] == digests[1]
    assert any("identical on all 2 ranks" in e["content"]["message"] for e in events if e["type"] == "log")
    assert Path([e["content"] for e in events if e["type"] == "checkpoint"][-1]["path"]).is_file()


def test_torchrun_patch_is_harmless_when_not_needed():
    patch_std_from_str()
    from torch.distributed.elastic.multiprocessing.api import Std

    assert Std.from_str("0") == Std.NONE and Std.from_str("0:3,1:0") == {0: Std.ALL, 1: Std.NONE}
    assert patch_std_from_str() is False  # already working now
