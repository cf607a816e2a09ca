"""The training loop: it learns, reports the contract's events, resumes exactly, stops cleanly on SIGTERM,
and reports failures and skips instead of crashing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import zmq
from conftest import ListSink, make_job, needs_fashion_mnist, tiny_spec, trainer_env, use_all_cores, write_job

from trainyard_worker.trainer import loop as loop_mod
from trainyard_worker.trainer.checkpoint import load_checkpoint
from trainyard_worker.trainer.distributed import DistContext
from trainyard_worker.trainer.events import RunEvents
from trainyard_worker.trainer.loop import (StopFlag, Trainer, make_optimizer, make_scheduler, misclassified)

use_all_cores()
METRIC_KEYS = {"train_loss", "train_acc", "test_acc", "test_loss", "lr", "images_per_s", "epoch_seconds"}


def run(job, stop_at=None):
    sink, stop = ListSink(), StopFlag()

    def hook(epoch, step):
        if stop_at == (epoch, step):
            stop.request("stopped by test")

    t = Trainer(job, RunEvents(job["run_id"], sink), stop, DistContext(), after_step=hook)
    return t.run(), t, sink


@needs_fashion_mnist
def test_quick_profile_learns_fashion_mnist(tmp_path):
    """The notebook's setup (ResNet18 from scratch, Adam 1e-3, batch 64, its augmentation, 36x36 RGB) on a
    small Fashion-MNIST subset: two epochs reach far above chance (10%)."""
    spec = {"data": {"source": "fashion-mnist", "train_subset": 2000, "test_subset": 1000}, "train": {"epochs": 2}}
    out, t, sink = run(make_job(tmp_path, spec))
    assert out.status == "succeeded" and out.epochs_completed == 2
    final = t.history[-1]
    assert final["test_acc"] > 0.5, t.history
    assert final["train_loss"] < t.history[0]["train_loss"]

    started = sink.of("started")[0]
    assert started["dataset"]["train_size"] == 2000 and started["dataset"]["test_size"] == 1000
    assert started["dataset"]["input_shape"] == [3, 36, 36] and started["params"] == 11_181_642
    assert started["dataset"]["fingerprint"].startswith("sha256:")
    evals = sink.of("evaluation")
    assert [e["epoch"] for e in evals] == [1, 2]
    for e in evals:  # counts over the WHOLE test split, misclassified capped per cell
        m = np.array(e["matrix"])
        assert m.shape == (10, 10) and m.sum() == e["samples"] == 1000
        assert abs(np.trace(m) / 1000 - t.history[e["epoch"] - 1]["test_acc"]) < 1e-12
        cells: dict[tuple[int, int], int] = {}
        for x in e["misclassified"]:
            assert x["true"] != x["pred"]
            cells[(x["true"], x["pred"])] = cells.get((x["true"], x["pred"]), 0) + 1
        assert all(n <= 20 for n in cells.values())
        assert sum(cells.values()) == sum(min(int(m[i, j]), 20) for i in range(10) for j in range(10) if i != j)
    keys = {p["key"] for c in sink.of("metrics") for p in c["points"]}
    assert METRIC_KEYS <= keys
    epoch_ends = [p for c in sink.of("metrics") for p in c["points"] if p["key"] == "epoch_seconds"]
    assert [p["epoch"] for p in epoch_ends] == [1, 2] and all(p["value"] > 0 for p in epoch_ends)
    ck = sink.of("checkpoint")
    assert [(c["epoch"], c["final"]) for c in ck] == [(1, False), (2, False), (2, True)]
    assert all(Path(c["path"]).is_file() and c["bytes"] > 0 for c in ck)
    assert sink.of("progress")[-1] == {"epoch": 2, "step": 32, "steps_per_epoch": 32}


def test_resume_after_an_epoch_and_mid_epoch_is_exact(tmp_path):
    """Stopped after epoch 1, or in the middle of epoch 2, and resumed: every later epoch's loss equals an
    uninterrupted run's, bit for bit (same seed, CPU). Cosine schedule and AdamW exercise the saved state."""
    spec = tiny_spec(train__epochs=3, optim={"name": "adamw", "lr": 2e-3, "weight_decay": 0.01, "momentum": 0.9,
                                             "schedule": {"name": "cosine"}})
    out, full, _ = run(make_job(tmp_path, spec, "full"))
    losses = [h["train_loss"] for h in full.history]
    accs = [h["test_acc"] for h in full.history]
    assert out.status == "succeeded" and len(set(losses)) == 3

    out, t, sink = run(make_job(tmp_path, spec, "stop-boundary"), stop_at=(1, 6))  # 6 = last step of epoch 1
    assert out.status == "cancelled" and out.epochs_completed == 1
    final = sink.of("checkpoint")[-1]
    assert final["final"] and final["epoch"] == 1
    out, r, sink = run(make_job(tmp_path, spec, "resume-boundary", resume_from=final["path"]))
    assert out.status == "succeeded" and sink.of("started")[0]["resumed_from_epoch"] == 1
    assert [h["train_loss"] for h in r.history] == losses[1:]
    assert [h["test_acc"] for h in r.history] == accs[1:]

    out, t, sink = run(make_job(tmp_path, spec, "stop-mid"), stop_at=(2, 3))
    assert out.status == "cancelled" and out.epochs_completed == 1
    ck = load_checkpoint(sink.of("checkpoint")[-1]["path"])
    assert ck["final"] and ck["epoch_state"]["step"] == 3
    out, r, _ = run(make_job(tmp_path, spec, "resume-mid", resume_from=sink.of("checkpoint")[-1]["path"]))
    assert [h["train_loss"] for h in r.history] == losses[1:]
    assert torch.equal(next(iter(r.raw.state_dict().values())), next(iter(full.raw.state_dict().values())))


def test_resume_refuses_a_checkpoint_of_another_spec(tmp_path):
    spec = tiny_spec()
    out, _, sink = run(make_job(tmp_path, spec, "a"))
    other = tiny_spec(optim={"lr": 0.01})
    with pytest.raises(ValueError, match="different spec"):
        run(make_job(tmp_path, other, "b", resume_from=sink.of("checkpoint")[-1]["path"]))


def test_live_train_points_within_an_epoch(tmp_path, monkeypatch):
    monkeypatch.setattr(loop_mod, "METRIC_INTERVAL_S", 0.0)
    _, t, sink = run(make_job(tmp_path, tiny_spec()))
    pts = [p for c in sink.of("metrics") for p in c["points"] if p["key"] == "train_loss"]
    steps = [p["step"] for p in pts]
    assert steps == list(range(1, 7))  # 5 live points, then the epoch's value at step 6
    assert pts[-1]["value"] == pytest.approx(t.history[0]["train_loss"])


def test_label_out_of_range_fails_naming_the_file(tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    for split, n in (("train", 8), ("test", 4)):
        torch.save(torch.rand(n, 3, 8, 8), root / f"{split}_data.pt")
        torch.save(torch.tensor([0, 1, 2, 7] * (n // 4)), root / f"{split}_labels.pt")
    spec = tiny_spec(data={"source": "tensor-files", "path": str(root), "pad_to": None})
    out, _, sink = run(make_job(tmp_path, spec))
    assert out.status == "failed" and "train_labels.pt" in out.error and "out of range for 4 classes" in out.error
    assert not sink.of("started")


def test_missing_pretrained_weights_skip_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-cache"))
    out, _, sink = run(make_job(tmp_path, tiny_spec(model={"pretrained": True, "num_classes": 4})))
    assert out.status == "skipped" and "resnet18-f37072fd.pth" in out.error and str(tmp_path) in out.error
    assert not sink.of("started")


@pytest.mark.parametrize("precision, resize, channels_last", [("bf16", None, False), ("fp32", 64, True)])
def test_precision_and_channels_last_paths_run(tmp_path, precision, resize, channels_last):
    spec = tiny_spec(train__precision=precision, data__resize=resize)  # >= 64 px: channels_last on CPU too
    out, t, _ = run(make_job(tmp_path, spec))
    assert out.status == "succeeded" and t.channels_last == channels_last
    assert t.amp_dtype == (torch.bfloat16 if precision == "bf16" else None)
    assert np.isfinite(t.history[0]["train_loss"])


def test_eval_every_and_uneven_batches(tmp_path):
    spec = tiny_spec(train__epochs=3, train__eval_every=2, train__batch_size=20)  # 96 = 4 x 20 + 16
    spec["data"]["synthetic"]["test_size"] = 37
    _, t, sink = run(make_job(tmp_path, spec))
    assert [e["epoch"] for e in sink.of("evaluation")] == [2, 3]  # every 2nd epoch and always the last
    assert all(e["samples"] == 37 for e in sink.of("evaluation"))
    assert t.steps_per_epoch == 5


def test_optimizers_and_schedules():
    p = [torch.nn.Parameter(torch.zeros(3))]
    for name in ("adam", "adamw", "sgd"):
        o = make_optimizer(p, {"name": name, "lr": 0.1, "weight_decay": 0.0, "momentum": 0.9})
        assert type(o).__name__.lower() == name
    base = {"name": "sgd", "lr": 0.1, "weight_decay": 0.0, "momentum": 0.0}

    def lrs(schedule, epochs=4, spe=5):
        o = make_optimizer(p, base)
        s = make_scheduler(o, {**base, "schedule": schedule}, epochs, spe)
        out = []
        for _ in range(epochs * spe):
            out.append(o.param_groups[0]["lr"])
            o.step()
            if s is not None:
                s.step()
        return out

    assert set(lrs({"name": "none"})) == {0.1}
    step = lrs({"name": "step", "step_size": 2, "gamma": 0.5})
    assert step[0] == 0.1 and step[9] == 0.1 and step[10] == pytest.approx(0.05)
    cos = lrs({"name": "cosine"})
    assert cos[0] == 0.1 and cos[-1] < 0.002 and all(a >= b for a, b in zip(cos, cos[1:]))
    one = lrs({"name": "onecycle", "max_lr": 0.5})
    assert max(one) == pytest.approx(0.5, rel=0.05) and one[0] < 0.05 and one[-1] < 0.01


def test_misclassified_is_capped_per_cell_and_uses_source_indexes():
    y = np.array([0] * 30 + [1] * 5)
    p = np.array([1] * 30 + [0, 1, 0, 1, 1])
    idx = np.arange(35) + 1000
    out = misclassified(y, p, idx, cap=20)
    assert len([m for m in out if (m["true"], m["pred"]) == (0, 1)]) == 20
    assert [m["index"] for m in out if m["true"] == 1] == [1030, 1032]


# ---- the process: events over ZeroMQ, SIGTERM, failures ----------------------------------------------

def _pull(tmp_path: Path):
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PULL)
    endpoint = f"ipc://{tmp_path}/events.ipc"
    sock.bind(endpoint)
    return ctx, sock, endpoint


def _recv_until(sock, pred, timeout_s: float, proc=None):
    got = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if sock.poll(200):
            ev = json.loads(sock.recv())
            got.append(ev)
            if pred(ev):
                return got
        elif proc is not None and proc.poll() is not None and not sock.poll(500):
            break
    raise AssertionError(f"no matching event within {timeout_s} s; got {[e['type'] for e in got]}")


def test_sigterm_stops_at_a_step_with_a_final_checkpoint(tmp_path):
    spec = tiny_spec(train__epochs=200)
    spec["data"]["synthetic"]["train_size"] = 2000
    job = write_job(tmp_path, spec, "sig")
    ctx, sock, endpoint = _pull(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "trainyard_worker.trainer", "--job", str(job)],
                            env=trainer_env(TRAINYARD_EVENTS_ENDPOINT=endpoint), cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        events = _recv_until(sock, lambda e: e["type"] == "progress" and e["content"]["step"] >= 2, 120, proc)
        assert events[0]["type"] == "started" and events[0]["run_id"] == "sig"
        proc.send_signal(signal.SIGTERM)
        events += _recv_until(sock, lambda e: e["type"] == "finished", 60, proc)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close(0)
        ctx.term()
    fin = events[-1]["content"]
    assert fin["status"] == "cancelled" and "SIGTERM" in fin["error"] and fin["epochs_completed"] == 0
    ck = [e["content"] for e in events if e["type"] == "checkpoint"]
    assert ck and ck[-1]["final"] and Path(ck[-1]["path"]).is_file()
    state = load_checkpoint(ck[-1]["path"])
    assert state["epoch_state"]["step"] >= 2 and state["final"]
    assert all(set(e) == {"run_id", "type", "content"} for e in events)


def _run_cli(tmp_path: Path, args: list[str], **env: str) -> tuple[int, list[dict]]:
    p = subprocess.run([sys.executable, "-m", "trainyard_worker.trainer", *args], env=trainer_env(**env),
                       cwd=tmp_path, capture_output=True, text=True, timeout=180)
    events = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    return p.returncode, events


def test_cli_reports_failures_and_skips_on_stdout(tmp_path):
    bad = write_job(tmp_path, tiny_spec(data={"source": "tensor-files", "path": str(tmp_path / "none")}), "bad")
    code, events = _run_cli(tmp_path, ["--job", str(bad)])
    assert code == 1 and events[-1]["type"] == "finished"
    assert events[-1]["content"]["status"] == "failed" and str(tmp_path / "none") in events[-1]["content"]["error"]

    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps({"run_id": "inv", "spec": {"train": {"batch_size": -3}}}))
    code, events = _run_cli(tmp_path, ["--job", str(invalid)])
    assert code == 1 and events[-1]["run_id"] == "inv"
    assert "job.spec.train.batch_size must be an integer in [1, 1000000], got -3" in events[-1]["content"]["error"]

    skip = write_job(tmp_path, tiny_spec(model={"pretrained": True, "num_classes": 4}), "skip")
    code, events = _run_cli(tmp_path, ["--job", str(skip)], TORCH_HOME=str(tmp_path / "nothing"))
    assert code == 0 and events[-1]["content"]["status"] == "skipped"
    assert "resnet18-f37072fd.pth" in events[-1]["content"]["error"]

    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(tiny_spec()))
    code, events = _run_cli(tmp_path, ["--spec", str(spec_file), "--run-dir", str(tmp_path / "by-hand")])
    assert code == 0 and events[-1]["content"] == {"status": "succeeded", "error": None, "epochs_completed": 1}
    assert (tmp_path / "by-hand" / "checkpoints" / "final.pt").is_file()
