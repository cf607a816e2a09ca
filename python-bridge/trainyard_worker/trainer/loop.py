"""The training loop: the notebook's train_model, made fast and restartable.

Same model, loss (cross-entropy), optimizer (Adam 1e-3 by default), batch size and augmentation as the
notebook, but: the dataset lives on the training device (uint8 where lossless) and is augmented there in
whole batches; loss and accuracy are accumulated on the device and read only at epoch ends and at most once a
second for live curves (no host synchronisation per step); channels_last and bf16 autocast on CUDA; every CPU
core on CPU; evaluation with confusion-matrix counts; a checkpoint per epoch and exact resume; DDP under
torchrun.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import checkpoint as ckpt
from .augment import BatchAugment
from .data import Dataset, load_dataset
from .distributed import (DistContext, all_sum, any_rank, gather_objects, state_digest, sync_buffers,
                          wrap_model)
from .events import RunEvents, point
from .job import JobError, spec_digest
from .model import WeightsUnavailable, build_model, count_params, resolve_weights

METRIC_INTERVAL_S = 1.0      # live train_loss/train_acc points within an epoch, at most this often
STOP_SYNC_EVERY = 8          # DDP: ranks agree on a stop request every this many steps
MISCLASSIFIED_PER_CELL = 20  # ids of misclassified test samples kept per (true, pred) cell
CPU_CHANNELS_LAST_MIN_SIZE = 64  # measured: channels_last is slower at 36 px, faster at 224 px on CPU


class StopFlag:
    """Set from a signal handler; read by the loop at step boundaries."""

    def __init__(self) -> None:
        self.requested = False
        self.reason: str | None = None
        self.event = threading.Event()

    def request(self, reason: str) -> None:
        if not self.requested:
            self.reason = reason
        self.requested = True
        self.event.set()


@dataclass
class Outcome:
    status: str            # succeeded | failed | cancelled | skipped
    error: str | None
    epochs_completed: int


def tune_malloc() -> bool:
    """Keep freed large blocks in glibc's heap instead of unmapping them. Without this, every batch-sized
    tensor (38 MB for 64 images at 224 px) is a fresh mmap whose pages the kernel faults in and zeroes again on
    every step; with it they are reused. Linux/glibc only; returns whether it applied."""
    try:
        import ctypes  # noqa: PLC0415

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_mmap_threshold, 1 << 30)) and bool(libc.mallopt(m_trim_threshold, 2**31 - 1))
    except (OSError, AttributeError):
        return False


def cpu_threads(world_size_on_host: int = 1) -> int:
    """All CPUs this process may use (Debian's torch starts with one thread), split between local ranks."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:
        n = os.cpu_count() or 1
    return max(1, n // max(1, world_size_on_host))


def autocast_for(precision: str, device: torch.device) -> tuple[torch.dtype | None, bool, str]:
    """(autocast dtype or None, use a GradScaler, what was chosen and why)."""
    if device.type == "cuda":
        if precision in ("auto", "bf16"):
            if torch.cuda.is_bf16_supported():
                return torch.bfloat16, False, "bf16 autocast"
            if precision == "bf16":
                raise JobError("spec.train.precision is bf16 but this GPU does not support bfloat16")
            return None, False, "fp32 (this GPU has no bf16)"
        if precision == "fp16":
            return torch.float16, True, "fp16 autocast with loss scaling"
        return None, False, "fp32"
    if precision == "bf16":
        return torch.bfloat16, False, "bf16 autocast on CPU"  # checked against fp32 once the model is built
    if precision == "fp16":
        raise JobError("spec.train.precision fp16 needs a CUDA device (use bf16 or fp32 on CPU)")
    return None, False, "fp32"


def bf16_disagreement(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> str | None:
    """Why bf16 autocast on this CPU cannot train `model` (None when it can): one forward and backward of a
    copy on a real batch, in fp32 and in bf16, compared.

    Which bf16 kernels torch uses depends on the CPU's instruction sets: without AVX-512 oneDNN cannot build a
    bf16 convolution at all, and some CPUs give NaN instead of an error. A second of checking at the start
    beats a run that trains for hours on garbage."""
    def loss_and_grads(dtype: torch.dtype | None) -> tuple[float, torch.Tensor]:
        net = copy.deepcopy(model).train()  # its batch-norm statistics move, the run's model's do not
        with _autocast(x.device, dtype):
            loss = F.cross_entropy(net(x), y)
        loss.backward()
        grads = [p.grad.detach().float().flatten() for p in net.parameters() if p.grad is not None]
        return float(loss), torch.cat(grads)

    state = torch.random.get_rng_state()
    try:
        ref_loss, ref = loss_and_grads(None)
        loss, got = loss_and_grads(torch.bfloat16)
    except RuntimeError as e:
        return f"{type(e).__name__}: {(str(e).splitlines() or ['no message'])[0]}"
    finally:
        torch.random.set_rng_state(state)  # the run's seeded sequence does not depend on this check
    if not (math.isfinite(loss) and bool(torch.isfinite(got).all())):
        return f"a test step on the first batch gave loss {loss} or non-finite gradients"
    # bf16 keeps ~3 significant digits: the loss agrees to about 1%, and the gradient of a fresh ResNet18
    # points the same way (measured cosine ~0.92; its size differs by up to 40%); a broken kernel does neither
    cos = float(F.cosine_similarity(got, ref, dim=0))
    if abs(loss - ref_loss) > 0.05 * abs(ref_loss) + 1e-3 or cos < 0.7:
        return (f"a test step on the first batch differs from fp32: loss {loss:.4f} vs {ref_loss:.4f}, "
                f"gradient cosine {cos:.2f}")
    return None


class Diverged(Exception):
    """The training loss stopped being a number: continuing would only burn device time."""


def make_optimizer(params: Any, o: dict[str, Any]) -> torch.optim.Optimizer:
    if o["name"] == "adam":
        return torch.optim.Adam(params, lr=o["lr"], weight_decay=o["weight_decay"])
    if o["name"] == "adamw":
        return torch.optim.AdamW(params, lr=o["lr"], weight_decay=o["weight_decay"])
    return torch.optim.SGD(params, lr=o["lr"], momentum=o["momentum"], weight_decay=o["weight_decay"])


def make_scheduler(opt: torch.optim.Optimizer, o: dict[str, Any], epochs: int, steps_per_epoch: int) -> Any:
    """Stepped once per optimizer step; epoch-based settings are converted to steps."""
    s = o["schedule"]
    total = max(1, epochs * steps_per_epoch)
    if s["name"] == "step":
        size = s.get("step_size") or max(1, epochs // 3)
        return torch.optim.lr_scheduler.StepLR(opt, step_size=size * steps_per_epoch, gamma=s.get("gamma") or 0.1)
    if s["name"] == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    if s["name"] == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s.get("max_lr") or o["lr"], total_steps=total)
    return None


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, transform: Callable[[torch.Tensor], torch.Tensor],
             batch_size: int, num_classes: int, amp_dtype: torch.dtype | None = None,
             channels_last: bool = False, stop: StopFlag | None = None) -> dict[str, Any] | None:
    """Confusion counts, summed loss and every prediction for (x, y), all left on the device.
    None when a stop request interrupted it."""
    was_training = model.training
    model.eval()
    n = int(y.shape[0])
    preds = torch.empty(n, dtype=torch.int64, device=y.device)
    loss = torch.zeros((), dtype=torch.float64, device=y.device)
    try:
        with torch.no_grad():
            for i in range(0, n, batch_size):
                if stop is not None and stop.requested:
                    return None
                xb = transform(x[i:i + batch_size])
                if channels_last:
                    xb = xb.contiguous(memory_format=torch.channels_last)
                with _autocast(xb.device, amp_dtype):
                    out = model(xb)
                out = out.float()
                loss += F.cross_entropy(out, y[i:i + batch_size], reduction="sum").double()
                preds[i:i + batch_size] = out.argmax(1)
    finally:
        model.train(was_training)
    matrix = torch.bincount(y * num_classes + preds, minlength=num_classes * num_classes)
    return {"matrix": matrix.view(num_classes, num_classes), "loss_sum": loss, "preds": preds}


def misclassified(y: np.ndarray, preds: np.ndarray, index: np.ndarray, cap: int = MISCLASSIFIED_PER_CELL
                  ) -> list[dict[str, int]]:
    """The first `cap` misclassified samples of every (true, pred) cell, as source-split indexes."""
    out: list[dict[str, int]] = []
    counts: dict[tuple[int, int], int] = {}
    for i in np.nonzero(y != preds)[0].tolist():
        cell = (int(y[i]), int(preds[i]))
        if counts.get(cell, 0) < cap:
            counts[cell] = counts.get(cell, 0) + 1
            out.append({"index": int(index[i]), "true": cell[0], "pred": cell[1]})
    return out


def _autocast(device: torch.device, dtype: torch.dtype | None) -> Any:
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def _env_int(name: str, default: int) -> int:
    try:
        return max(0, int(os.environ.get(name, "") or default))
    except ValueError:
        return default


def _grad_scaler() -> Any:
    amp = getattr(torch, "amp", None)
    if amp is not None and hasattr(amp, "GradScaler"):  # torch >= 2.3; torch.cuda.amp's is deprecated there
        return amp.GradScaler("cuda")
    return torch.cuda.amp.GradScaler()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class Trainer:
    """One run. `run()` returns an Outcome and never raises for expected failures (bad data, missing
    weights); unexpected exceptions propagate to __main__, which reports them as failed."""

    def __init__(self, job: dict[str, Any], events: RunEvents, stop: StopFlag, ctx: DistContext,
                 after_step: Callable[[int, int], None] | None = None) -> None:
        self.job = job
        self.spec = job["spec"]
        self.events = events
        self.stop = stop
        self.ctx = ctx
        self.device = ctx.device
        self.after_step = after_step  # test hook: (epoch, step_in_epoch) after each step
        self.run_dir = Path(job["run_dir"])
        self.ckpt_dir = self.run_dir / "checkpoints"
        self.keep = _env_int("TRAINYARD_KEEP_CHECKPOINTS", 2)
        self.epochs_completed = 0
        self.last_ckpt: Path | None = None
        self.history: list[dict[str, Any]] = []   # per-epoch summaries (tests and the bench read them)

    # ---- setup ------------------------------------------------------------------------------------

    def _log(self, msg: str, level: str = "info") -> None:
        if self.ctx.is_main:
            self.events.log(level, msg)

    def run(self) -> Outcome:
        spec, ctx = self.spec, self.ctx
        t, m, d = spec["train"], spec["model"], spec["data"]
        try:
            resolve_weights(m["pretrained"])  # preflight: before loading data or building anything
        except WeightsUnavailable as e:
            return Outcome("skipped", str(e), 0)
        _seed_all(t["seed"])
        try:
            ds = load_dataset(d, num_classes=m["num_classes"])
        except ValueError as e:  # DataError
            return Outcome("failed", str(e), 0)
        if len(ds.class_names) > m["num_classes"]:
            return Outcome("failed", f"the dataset has {len(ds.class_names)} classes but model.num_classes is "
                                     f"{m['num_classes']}", 0)
        self.ds = ds
        try:
            self._build(ds)
            resumed_from = self._resume() if self.job.get("resume_from") else None
        except JobError as e:
            return Outcome("failed", str(e), 0)
        if self.ctx.is_main:
            self.events.emit("started", {
                "pid": os.getpid(), "device": self.device_label, "attempt": self.job.get("attempt", 0),
                "resumed_from_epoch": resumed_from,
                "dataset": {"fingerprint": ds.fingerprint, "train_size": int(ds.train.y.shape[0]),
                            "test_size": int(ds.test.y.shape[0]), "class_names": ds.class_names,
                            "input_shape": [ds.channels, self.aug.out_h, self.aug.out_w]},
                "params": count_params(self.raw)})
            self._log(self.setup_note)
        return self._train()

    def prepare(self) -> None:
        """Load the data and build everything, without training (the benchmark drives `step` itself)."""
        _seed_all(self.spec["train"]["seed"])
        self.ds = load_dataset(self.spec["data"], num_classes=self.spec["model"]["num_classes"])
        self._build(self.ds)

    def _build(self, ds: Dataset) -> None:
        spec, ctx, dev = self.spec, self.ctx, self.device
        t, m, d = spec["train"], spec["model"], spec["data"]
        self.num_classes = m["num_classes"]
        self.amp_dtype, use_scaler, amp_note = autocast_for(t["precision"], dev)
        self.raw = build_model(m, in_channels=ds.channels).to(dev)
        h, w = ds.image_size
        out_hw = d["resize"] or min(h, w)
        self.channels_last = t["channels_last"] and (dev.type == "cuda" or out_hw >= CPU_CHANNELS_LAST_MIN_SIZE)
        if self.channels_last:
            self.raw = self.raw.to(memory_format=torch.channels_last)
        self.model = wrap_model(ctx, self.raw)
        compiled = "no"
        if t["compile"]:
            if hasattr(torch, "compile"):
                self.model = torch.compile(self.model)
                compiled = "yes"
            else:
                compiled = f"not available in torch {torch.__version__}"
                self._log(f"spec.train.compile: torch.compile is not available in torch {torch.__version__}; "
                          f"running eagerly", "warning")
        self.opt = make_optimizer(self.raw.parameters(), spec["optim"])
        self.scaler = _grad_scaler() if use_scaler else None
        # data on the device: uint8 stays uint8 (converted per batch), labels int64
        self.train_x, self.train_y = ds.train.x.to(dev), ds.train.y.to(dev)
        self.test_x, self.test_y = ds.test.x.to(dev), ds.test.y.to(dev)
        edge_zero = all(bool((s.x[..., 0, :] == 0).all() and (s.x[..., -1, :] == 0).all()
                             and (s.x[..., :, 0] == 0).all() and (s.x[..., :, -1] == 0).all())
                        for s in (ds.train, ds.test))
        self.aug = BatchAugment(d["augment"], in_size=(h, w), resize=d["resize"], stored_channels=ds.stored_channels,
                                channels=ds.channels, normalize=d["normalize"], pixel_scale=ds.pixel_scale,
                                device=dev, edge_is_zero=edge_zero,
                                resize_mode=os.environ.get("TRAINYARD_RESIZE_MODE") or None)
        self.batch = t["batch_size"]
        n = int(self.train_y.shape[0])
        self.shard_len = n // ctx.world_size if ctx.enabled else n
        if self.shard_len == 0:
            raise JobError(f"{n} training samples cannot be split over {ctx.world_size} ranks")
        self.steps_per_epoch = math.ceil(self.shard_len / self.batch)
        self.sched = make_scheduler(self.opt, spec["optim"], t["epochs"], self.steps_per_epoch)
        # the trainer's own generators: shuffling (same on every rank) and augmentation (per rank)
        self.shuffle_gen = torch.Generator().manual_seed(t["seed"])
        self.aug_gen = torch.Generator(device=dev) if dev.type == "cuda" else torch.Generator()
        self.aug_gen.manual_seed((t["seed"] * 1_000_003 + 7919 * ctx.rank + 1) % 2**63)
        self.generators = {"shuffle": self.shuffle_gen, "augment": self.aug_gen}
        self.eval_batch = max(self.batch, min(2 * self.batch, 1024))
        self.criterion = nn.CrossEntropyLoss()
        if dev.type == "cpu" and self.amp_dtype == torch.bfloat16:
            first = slice(0, min(self.batch, n))
            xb = self.aug.eval(self.train_x[first])
            if self.channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            why = bf16_disagreement(self.raw, xb, self.train_y[first])
            if why is not None:
                raise JobError(f"spec.train.precision is bf16 but this CPU's bfloat16 kernels cannot train this "
                               f"model ({why}); use fp32 or auto")
        self.resume_state: dict[str, Any] | None = None
        self.device_label = str(dev) if not ctx.enabled else f"{dev} (DDP rank {ctx.rank} of {ctx.world_size}, {ctx.backend})"
        threads = torch.get_num_threads() if dev.type == "cpu" else None
        self.setup_note = (f"device {self.device_label}" + (f", {threads} CPU threads" if threads else "") +
                           f"; {amp_note}; channels_last {'on' if self.channels_last else 'off'}; compile {compiled}; "
                           f"{self.steps_per_epoch} steps/epoch of {self.batch}; "
                           + (f"resize {self.aug.resize_mode} (work {self.aug.work_h} px); " if self.aug.resize else "")
                           + f"data {ds.source} "
                           f"{list(ds.train.x.shape)} {str(ds.train.x.dtype).replace('torch.', '')} on the device")

    # ---- checkpoints ---------------------------------------------------------------------------------

    def _state(self, epoch_state: dict[str, Any] | None, final: bool) -> dict[str, Any]:
        rngs = gather_objects(self.ctx, ckpt.capture_rng(self.generators))
        return {
            "format": ckpt.FORMAT, "run_id": self.job["run_id"], "attempt": self.job.get("attempt", 0),
            "spec": self.spec, "spec_digest": spec_digest(self.spec), "epoch": self.epochs_completed,
            "epoch_state": epoch_state, "final": final, "world_size": self.ctx.world_size,
            "model": self.raw.state_dict(), "optimizer": self.opt.state_dict(),
            "scheduler": ckpt.plain_scheduler_state(self.sched),
            "scaler": self.scaler.state_dict() if self.scaler else None,
            "rng": rngs[0], "rng_by_rank": rngs, "time": time.time(),
        }

    def _save(self, epoch_state: dict[str, Any] | None, final: bool) -> None:
        """Collective under DDP (RNG states are gathered); rank 0 writes and reports."""
        sync_buffers(self.ctx, self.raw)
        state = self._state(epoch_state, final)
        if not self.ctx.is_main:
            return
        if final and epoch_state is None and self.last_ckpt is not None and self.last_ckpt.exists():
            path = self.ckpt_dir / "final.pt"
            size = ckpt.link_or_copy(self.last_ckpt, path)
        else:
            path = self.ckpt_dir / ("final.pt" if final else f"epoch-{self.epochs_completed:04d}.pt")
            size = ckpt.save_checkpoint(path, state)
            if not final:
                self.last_ckpt = path
                ckpt.prune_epoch_checkpoints(self.ckpt_dir, self.keep)
        self.events.emit("checkpoint", {"epoch": self.epochs_completed, "path": str(path.resolve()), "bytes": size,
                                        "final": final})

    def _resume(self) -> int:
        path = self.job["resume_from"]
        ck = ckpt.load_checkpoint(path)
        if ck["spec_digest"] != spec_digest(self.spec):
            raise JobError(f"resume_from {path}: the checkpoint was written for a different spec "
                           f"(model, data, optim or train settings changed)")
        self.raw.load_state_dict(ck["model"])
        self.opt.load_state_dict(ck["optimizer"])
        if self.sched is not None and ck.get("scheduler"):
            self.sched.load_state_dict(ck["scheduler"])
        if self.scaler is not None and ck.get("scaler"):
            self.scaler.load_state_dict(ck["scaler"])
        by_rank = ck.get("rng_by_rank") or [ck["rng"]]
        same_world = len(by_rank) == self.ctx.world_size
        ckpt.restore_rng(by_rank[self.ctx.rank] if same_world else ck["rng"], self.generators)
        if not same_world:
            self._log(f"resume: checkpoint written by {len(by_rank)} rank(s), running {self.ctx.world_size}: "
                      f"augmentation randomness will differ from an uninterrupted run", "warning")
        self.epochs_completed = int(ck["epoch"])
        es = ck.get("epoch_state")
        if es is not None and same_world:  # (with another world size the interrupted epoch is redone)
            mine = (es.get("ranks") or [es])[self.ctx.rank] if self.ctx.enabled else es
            self.resume_state = {**es, **{k: mine[k] for k in ("seen", "loss_sum", "correct", "train_seconds")}}
        self._log(f"resumed from {path} after epoch {self.epochs_completed}" +
                  (f", step {es['step']} of epoch {self.epochs_completed + 1}" if self.resume_state else ""))
        return self.epochs_completed

    # ---- the loop ------------------------------------------------------------------------------------

    def _train(self) -> Outcome:
        t = self.spec["train"]
        epochs = t["epochs"]
        while self.epochs_completed < epochs:
            epoch = self.epochs_completed + 1
            try:
                stopped = self._epoch(epoch)
            except Diverged as e:
                # no checkpoint of NaN weights: the last good epoch's checkpoint stays the newest
                self._log(str(e), "error")
                return Outcome("failed", str(e), self.epochs_completed)
            if stopped:
                return self._cancelled()
            last = epoch == epochs
            if epoch % t["eval_every"] == 0 or last:
                if not self._evaluate(epoch):
                    return self._cancelled()
            self._end_epoch_metrics(epoch)
            self._save(None, final=False)
            if any_rank(self.ctx, self.stop.requested) and not last:
                return self._cancelled(at_boundary=True)
        if self.ctx.enabled:
            sync_buffers(self.ctx, self.raw)
            digests = gather_objects(self.ctx, state_digest(self.raw))
            same = len(set(digests)) == 1
            # each rank records its own digest: the DDP test compares them across processes
            (self.run_dir / "ranks").mkdir(parents=True, exist_ok=True)
            (self.run_dir / "ranks" / f"rank-{self.ctx.rank}.sha256").write_text(digests[self.ctx.rank] + "\n")
            self._log(f"final model state identical on all {self.ctx.world_size} ranks: {digests[0][:16]}"
                      if same else f"final model state differs between ranks: {digests}", "info" if same else "error")
            if not same:
                return Outcome("failed", "DDP ranks ended with different model states", self.epochs_completed)
        self._save(None, final=True)
        return Outcome("succeeded", None, self.epochs_completed)

    def _cancelled(self, at_boundary: bool = False) -> Outcome:
        partial = None if at_boundary else getattr(self, "_partial", None)
        if partial is not None:
            # every rank's running sums, so that a resumed epoch reports the same totals
            ranks = gather_objects(self.ctx, {k: partial[k] for k in ("seen", "loss_sum", "correct", "train_seconds")})
            self._save({**partial, "ranks": ranks}, final=True)
        else:
            self._save(None, final=True)
        return Outcome("cancelled", self.stop.reason or "stopped", self.epochs_completed)

    def _stop_now(self, step: int) -> bool:
        if not self.ctx.enabled:
            return self.stop.requested
        if step % STOP_SYNC_EVERY:
            return False
        return any_rank(self.ctx, self.stop.requested)

    def _epoch(self, epoch: int) -> bool:
        """Train one epoch (or its remainder after a resume). True when a stop request ended it early."""
        ctx, dev, b = self.ctx, self.device, self.batch
        es, self.resume_state = self.resume_state, None
        if es is not None:
            perm = es["perm"]
            start, seen, secs = int(es["step"]), int(es["seen"]), float(es["train_seconds"])
            loss_sum = torch.tensor(float(es["loss_sum"]), dtype=torch.float64, device=dev)
            correct = torch.tensor(int(es["correct"]), dtype=torch.int64, device=dev)
        else:
            perm = torch.randperm(int(self.train_y.shape[0]), generator=self.shuffle_gen)
            start, seen, secs = 0, 0, 0.0
            loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
            correct = torch.zeros((), dtype=torch.int64, device=dev)
        shard = perm[ctx.rank::ctx.world_size][: self.shard_len] if ctx.enabled else perm
        shard = shard.to(dev)
        self.model.train()
        spe = self.steps_per_epoch
        base_step = (epoch - 1) * spe
        t0 = time.perf_counter()
        last_metric = time.monotonic()
        self._partial = None
        self.events.progress(epoch, start, spe, force=True)
        for step in range(start, spe):
            if self._stop_now(step):
                _sync(dev)
                self._partial = {"perm": perm, "step": step, "seen": seen, "loss_sum": float(loss_sum),
                                 "correct": int(correct), "train_seconds": secs + time.perf_counter() - t0}
                return True
            idx = shard[step * b:(step + 1) * b]
            loss, hits = self.step(idx)
            n = int(idx.shape[0])
            loss_sum += loss.double() * n
            correct += hits
            seen += n
            if self.after_step is not None:
                self.after_step(epoch, step + 1)
            if ctx.is_main:
                self.events.progress(epoch, step + 1, spe)
                now = time.monotonic()
                if now - last_metric >= METRIC_INTERVAL_S and step + 1 < spe:
                    last_metric = now  # one host sync per interval, not per step
                    running = float(loss_sum) / seen
                    if not ctx.enabled:  # under DDP the ranks decide together, at the epoch's end
                        self._check_finite(running, epoch, step + 1)
                    self.events.metrics([point("train_loss", running, base_step + step + 1, epoch),
                                         point("train_acc", int(correct) / seen, base_step + step + 1, epoch)])
        _sync(dev)
        secs += time.perf_counter() - t0
        totals = all_sum(ctx, torch.stack([loss_sum, correct.double(), torch.tensor(float(seen), dtype=torch.float64,
                                                                                      device=dev)]))
        loss_total, correct_total, seen_total = (float(v) for v in totals.tolist())
        self._check_finite(loss_total / seen_total, epoch, spe)
        self.epochs_completed = epoch
        self._epoch_summary = {"epoch": epoch, "train_loss": loss_total / seen_total,
                               "train_acc": correct_total / seen_total, "train_seconds": secs,
                               "images_per_s": seen_total / secs if secs > 0 else 0.0,
                               "step": base_step + spe, "lr": float(self.opt.param_groups[0]["lr"]),
                               "started": time.perf_counter()}
        self.events.progress(epoch, spe, spe, force=True)
        return False

    def _check_finite(self, train_loss: float, epoch: int, step: int) -> None:
        if not math.isfinite(train_loss):
            precision = f" under {self.amp_dtype} autocast" if self.amp_dtype is not None else ""
            raise Diverged(f"training diverged: the train loss is {train_loss} at epoch {epoch}, step {step}"
                           f"{precision}; lower optim.lr or change train.precision")

    def step(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimizer step on the samples `idx` (a device tensor): augment on the device, forward, backward,
        update. Returns the batch's mean loss and its number of correct predictions, both left on the device."""
        xb = self.aug.train(self.train_x[idx], generator=self.aug_gen)
        yb = self.train_y[idx]
        if self.channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        with _autocast(self.device, self.amp_dtype):
            out = self.model(xb)
            loss = self.criterion(out, yb)
        self.opt.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.opt)
            self.scaler.update()
        else:
            loss.backward()
            self.opt.step()
        if self.sched is not None:
            self.sched.step()
        return loss.detach(), (out.detach().argmax(1) == yb).sum()

    def _evaluate(self, epoch: int) -> bool:
        ctx = self.ctx
        sync_buffers(ctx, self.raw)
        sl = slice(ctx.rank, None, ctx.world_size) if ctx.enabled else slice(None)
        x, y = self.test_x[sl], self.test_y[sl]
        index = self.ds.test.index[sl]
        t0 = time.perf_counter()
        r = evaluate(self.raw, x, y, self.aug.eval, self.eval_batch, self.num_classes, self.amp_dtype,
                     self.channels_last, None if ctx.enabled else self.stop)
        if r is None:
            return False
        matrix = all_sum(ctx, r["matrix"].clone())
        loss = all_sum(ctx, r["loss_sum"].clone())
        mis = misclassified(y.cpu().numpy(), r["preds"].cpu().numpy(), index.numpy())
        mis_all = [m for part in gather_objects(ctx, mis) for m in part]
        samples = int(matrix.sum())
        mat = matrix.cpu().tolist()
        if ctx.enabled:  # re-cap after merging the ranks' lists
            counts: dict[tuple[int, int], int] = {}
            kept = []
            for m in sorted(mis_all, key=lambda m: m["index"]):
                c = (m["true"], m["pred"])
                if counts.get(c, 0) < MISCLASSIFIED_PER_CELL:
                    counts[c] = counts.get(c, 0) + 1
                    kept.append(m)
            mis_all = kept
        test_loss = float(loss) / max(samples, 1)
        test_acc = sum(mat[i][i] for i in range(len(mat))) / max(samples, 1)
        self._epoch_summary.update(test_loss=test_loss, test_acc=test_acc, eval_seconds=time.perf_counter() - t0,
                                   matrix=mat)
        if ctx.is_main:
            self.events.emit("evaluation", {"epoch": epoch, "split": "test", "class_names": self.ds.class_names,
                                            "matrix": mat, "misclassified": mis_all, "loss": test_loss,
                                            "samples": samples})
        return True

    def _end_epoch_metrics(self, epoch: int) -> None:
        s = self._epoch_summary
        s["epoch_seconds"] = s["train_seconds"] + s.get("eval_seconds", 0.0)
        self.history.append({k: v for k, v in s.items() if k not in ("started",)})
        if not self.ctx.is_main:
            return
        now, step = time.time(), s["step"]
        pts = [point(k, s[k], step, epoch, now) for k in ("train_loss", "train_acc", "lr", "images_per_s")]
        if "test_acc" in s:
            pts += [point("test_acc", s["test_acc"], step, epoch, now), point("test_loss", s["test_loss"], step, epoch, now)]
        if self.device.type == "cuda":
            pts.append(point("gpu_mem_mb", torch.cuda.max_memory_allocated(self.device) / 2**20, step, epoch, now))
            torch.cuda.reset_peak_memory_stats(self.device)
        pts.append(point("epoch_seconds", s["epoch_seconds"], step, epoch, now))  # last: marks the epoch complete
        self.events.metrics(pts)
        msg = (f"epoch {epoch}: train loss {s['train_loss']:.4f}, train acc {100 * s['train_acc']:.2f}%"
               + (f", test acc {100 * s['test_acc']:.2f}%" if "test_acc" in s else "")
               + f", {s['images_per_s']:.0f} images/s, {s['epoch_seconds']:.1f} s")
        self.events.log("info", msg)
