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
import torch.nn as nn
import torch.nn.functional as F
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
    out, _, sink_b = run(make_job(tmp_path, other, "b", resume_from=sink.of("checkpoint")[-1]["path"]))
    assert out.status == "failed" and "different spec" in out.error and not sink_b.of("started")


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


def test_channels_last_path_runs(tmp_path):
    out, t, _ = run(make_job(tmp_path, tiny_spec(train__precision="fp32", data__resize=64)))  # >= 64 px: on CPU too
    assert out.status == "succeeded" and t.channels_last and t.amp_dtype is None
    assert np.isfinite(t.history[0]["train_loss"])


def test_bf16_on_cpu_trains_or_refuses_with_the_reason(tmp_path):
    """Which bf16 kernels a CPU has decides whether bf16 can train at all (CI once got NaN losses reported as a
    successful run). Either outcome is allowed; a 'succeeded' run with a non-finite loss is not."""
    out, t, sink = run(make_job(tmp_path, tiny_spec(train__precision="bf16")))
    if out.status == "succeeded":
        assert t.amp_dtype == torch.bfloat16 and "bf16 autocast on CPU" in t.setup_note
        assert all(np.isfinite(h["train_loss"]) and np.isfinite(h["test_loss"]) for h in t.history)
    else:
        assert out.status == "failed", out
        assert "bfloat16 kernels cannot train this model" in out.error or "training diverged" in out.error, out.error


def test_bf16_disagreement_compares_against_fp32():
    """The check itself, on real forward/backward passes: bf16 rounding passes; a bf16 path that gives NaN, wrong
    numbers or raises is reported with the reason. The network rounds to bf16 itself instead of calling the CPU's
    bf16 kernels, so that the test means the same on every CPU (an AVX2-only one has no bf16 convolution)."""
    class Net(nn.Module):
        def __init__(self, bf16_fault: str | None = None) -> None:
            super().__init__()
            self.fault = bf16_fault
            self.conv, self.rest = nn.Conv2d(3, 8, 3, padding=1), nn.Sequential(
                nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if not torch.is_autocast_cpu_enabled():
                return self.rest(self.conv(x))
            with torch.autocast("cpu", enabled=False):
                if self.fault == "raise":
                    raise RuntimeError("could not create a primitive descriptor iterator")
                r = lambda t: t.to(torch.bfloat16).float()  # noqa: E731 - bf16 rounding of inputs and weights
                h = r(F.conv2d(r(x), r(self.conv.weight), r(self.conv.bias), padding=1))
                if self.fault == "nan":
                    h = h * float("nan")
                elif self.fault == "wrong":
                    h = h.flip(0)  # a kernel that mixes up samples: finite, but the wrong answer
                return self.rest(h)

    torch.manual_seed(0)
    x, y = torch.randn(16, 3, 12, 12), torch.arange(16) % 4
    sound = Net()
    state = torch.random.get_rng_state()
    assert loop_mod.bf16_disagreement(sound, x, y) is None
    assert torch.equal(torch.random.get_rng_state(), state)  # the run's seeded sequence is untouched
    assert "non-finite" in loop_mod.bf16_disagreement(Net("nan"), x, y)
    assert "differs from fp32" in loop_mod.bf16_disagreement(Net("wrong"), x, y)
    assert "primitive descriptor" in loop_mod.bf16_disagreement(Net("raise"), x, y)


def test_bf16_refused_before_training_when_the_check_fails(tmp_path, monkeypatch):
    seen = []

    def broken(model, x, y):
        seen.append(tuple(x.shape))
        return "a test step on the first batch gave loss nan or non-finite gradients"

    monkeypatch.setattr(loop_mod, "bf16_disagreement", broken)
    out, _, sink = run(make_job(tmp_path, tiny_spec(train__precision="bf16")))
    assert seen == [(16, 3, 16, 16)]  # one batch of the run's own data, as the model sees it
    assert out.status == "failed" and "spec.train.precision is bf16" in out.error and "use fp32" in out.error
    assert not sink.of("started") and not sink.of("metrics")
    out, _, _ = run(make_job(tmp_path, tiny_spec(train__precision="fp32"), run_id="run-2"))
    assert out.status == "succeeded" and len(seen) == 1  # fp32 is never checked


def test_a_diverging_run_fails_and_keeps_its_last_good_checkpoint(tmp_path):
    """SGD at lr 10 blows up within a few epochs: the run fails naming the epoch, instead of 'succeeding' with
    NaN, and the newest checkpoint is the last finite epoch's."""
    spec = tiny_spec(optim={"name": "sgd", "lr": 10.0, "momentum": 0.9}, train__epochs=30)
    out, t, sink = run(make_job(tmp_path, spec))
    assert out.status == "failed" and out.error.startswith("training diverged: the train loss is"), out
    assert 0 < out.epochs_completed < 30 and len(t.history) == out.epochs_completed
    assert f"at epoch {out.epochs_completed + 1}" in out.error
    assert all(np.isfinite(h["train_loss"]) for h in t.history)
    ck = sink.of("checkpoint")
    assert ck[-1]["epoch"] == out.epochs_completed and not ck[-1].get("final")
    state = load_checkpoint(ck[-1]["path"])
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    assert any(e["level"] == "error" and "diverged" in e["message"] for e in sink.of("log"))
    assert not (Path(t.ckpt_dir) / "final.pt").exists()


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
