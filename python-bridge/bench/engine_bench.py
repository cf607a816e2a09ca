"""Notebook loop vs training engine, on this machine, in one run. Prints ONE JSON object on stdout.

`npm run bench:engine` (= /usr/bin/python3 python-bridge/bench/engine_bench.py [options]).

Measured, at 36 px and at 224 px, batch 64, the notebook's scratch variant (ResNet18, 10 classes) on
Fashion-MNIST padded to 36x36 RGB (the seed study's data; synthetic if it is not installed):
  - augmentation alone: the notebook's CustomDataset + per-sample torchvision transforms + DataLoader, exactly
    as written, against the engine's batched on-device pipeline (gather, uint8 -> float, one affine grid per
    batch, normalise, resize);
  - whole training steps: the notebook's loop body exactly as written (including loss.item() per step),
    against the engine's Trainer.step.
The notebook runs with torch's default thread count, as it would (Debian's torch starts with 1 thread); the
engine with every core, as the trainer does. `notebook_all_threads` also gives the notebook's steps with every
core, to separate what threads buy from what the engine's design buys.

Timings: medians of per-batch times after warm-up, in alternating notebook/engine blocks (`--rounds`); each
side keeps its best block, which is what a quiet machine gives (on a shared CPU, bursts of load from other
processes slow whichever block they hit). Every block's rate and the load average are in the output. With a CUDA device, `gpu` adds
images/s for every seed variant at its best batch size, the ratio against the notebook loop on that GPU, and
the fraction of the GPU's bf16 peak.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import torch

DEFAULT_THREADS = torch.get_num_threads()  # before anything changes it: what the notebook would get
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch.nn as nn  # noqa: E402
import torch.optim as optim  # noqa: E402
import torchvision.transforms as transforms  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402
from torchvision.models import resnet18  # noqa: E402

from trainyard_worker.trainer.distributed import DistContext  # noqa: E402
from trainyard_worker.trainer.events import NullSink, RunEvents  # noqa: E402
from trainyard_worker.trainer.job import validate_job  # noqa: E402
from trainyard_worker.trainer.loop import StopFlag, Trainer, cpu_threads, tune_malloc  # noqa: E402
from trainyard_worker.trainer.summary import layer_table  # noqa: E402

warnings.filterwarnings("ignore", category=UserWarning)
BATCH = 64
TARGETS = {"train_step_36": 2.0, "augmentation_36": 15.0, "augmentation_224": 15.0, "gpu_train_step_36": 20.0}
SEED_VARIANTS: dict[str, tuple[dict[str, Any], int | None]] = {
    "scratch": ({"pretrained": False}, None),
    "pretrained": ({"pretrained": True}, None),
    "scratch_224": ({"pretrained": False}, 224),
    "pretrained_224": ({"pretrained": True}, 224),
    "modified_scratch_1": ({"conv1": {"kernel": 7, "stride": 1, "padding": 3}}, None),
    "modified_scratch_2": ({"conv1": {"kernel": 5, "stride": 1, "padding": 2}}, None),
    "modified_scratch_3": ({"maxpool": False}, None),
    "modified_pretrained_1": ({"pretrained": True, "conv1": {"kernel": 7, "stride": 1, "padding": 3}}, None),
    "modified_pretrained_2": ({"pretrained": True, "conv1": {"kernel": 5, "stride": 1, "padding": 2}}, None),
    "modified_pretrained_3": ({"pretrained": True, "maxpool": False}, None),
}


def log(msg: str) -> None:
    sys.stderr.write(f"[engine_bench] {msg}\n")
    sys.stderr.flush()


def load_avg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# ---- the notebook, as written ----------------------------------------------------------------------

class CustomDataset(Dataset):
    def __init__(self, data, labels, transform=None):
        self.data = data
        self.labels = labels
        self.transform = transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        image = self.data[idx].float()
        label = self.labels[idx]

        if self.transform:
            image = self.transform(image)

        return image, label


def notebook_loader(data: torch.Tensor, labels: torch.Tensor, size: int) -> DataLoader:
    pre = [transforms.Resize((224, 224))] if size == 224 else []
    train_transform = transforms.Compose(pre + [
        transforms.RandomHorizontalFlip(),
        transforms.RandomRotation((-7, 7)),
        transforms.RandomAffine(0, shear=10, scale=(0.8, 1.2)),
        transforms.Normalize((0.491, 0.482, 0.446), (0.247, 0.243, 0.261)),
    ])
    return DataLoader(CustomDataset(data, labels, transform=train_transform), batch_size=BATCH, shuffle=True)


def notebook_step_timer(loader: DataLoader, device: torch.device) -> Callable[[], float]:
    """One batch of the body of the notebook's train_model loop per call (data loading included); returns its
    seconds."""
    model = resnet18(num_classes=10).to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    model.train()
    state = {"running_loss": 0.0, "correct": 0, "total": 0}
    it = iter(loader)

    def one() -> float:
        nonlocal it
        t0 = time.perf_counter()
        try:
            images, labels = next(it)
        except StopIteration:
            it = iter(loader)
            images, labels = next(it)
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        outputs = model(images)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()

        state["running_loss"] += loss.item()
        _, predicted = outputs.max(1)
        state["total"] += labels.size(0)
        state["correct"] += predicted.eq(labels).sum().item()
        return time.perf_counter() - t0

    return one


def notebook_augment_timer(loader: DataLoader) -> Callable[[], float]:
    it = iter(loader)

    def one() -> float:
        nonlocal it
        t0 = time.perf_counter()
        try:
            next(it)
        except StopIteration:
            it = iter(loader)
            next(it)
        return time.perf_counter() - t0

    return one


def notebook_steps(loader: DataLoader, device: torch.device, n: int, warmup: int) -> list[float]:
    one = notebook_step_timer(loader, device)
    times = [one() for _ in range(warmup + n)]
    return times[warmup:]


# ---- the engine -------------------------------------------------------------------------------------

def engine_trainer(data_spec: dict[str, Any], model: dict[str, Any], resize: int | None, device: str,
                   batch: int = BATCH) -> Trainer:
    # speed does not depend on the weights, so pretrained variants never need the weights cache here
    model = {k: v for k, v in model.items() if k != "pretrained"}
    spec = {"model": {"num_classes": 10, **model}, "data": {**data_spec, "resize": resize},
            "train": {"batch_size": batch, "epochs": 1, "seed": 0}}
    job = validate_job({"run_id": "bench", "spec": spec, "devices": [0] if device == "cuda" else [],
                        "run_dir": "/tmp/trainyard-bench"})
    ctx = DistContext(device=torch.device("cuda", 0) if device == "cuda" else torch.device("cpu"))
    t = Trainer(job, RunEvents("bench", NullSink()), StopFlag(), ctx)
    t.prepare()
    return t


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def engine_loop(t: Trainer, n: int, warmup: int, fn: Callable[[torch.Tensor], Any]) -> list[float]:
    """Per-batch times. On CUDA the n timed batches run back to back without a sync between them (as in
    training) and each gets the average."""
    g = torch.Generator().manual_seed(0)
    size = int(t.train_y.shape[0])
    idxs = [torch.randint(0, size, (t.batch,), generator=g).to(t.device) for _ in range(warmup + n)]
    for idx in idxs[:warmup]:
        fn(idx)
    _sync(t.device)
    if t.device.type == "cuda":
        t0 = time.perf_counter()
        for idx in idxs[warmup:]:
            fn(idx)
        _sync(t.device)
        return [(time.perf_counter() - t0) / n] * n
    times: list[float] = []
    for idx in idxs[warmup:]:
        t0 = time.perf_counter()
        fn(idx)
        times.append(time.perf_counter() - t0)
    return times


def engine_timer(t: Trainer, fn: Callable[[torch.Tensor], Any]) -> Callable[[], float]:
    g = torch.Generator().manual_seed(0)
    size = int(t.train_y.shape[0])

    def one() -> float:
        idx = torch.randint(0, size, (t.batch,), generator=g).to(t.device)
        t0 = time.perf_counter()
        fn(idx)
        return time.perf_counter() - t0

    return one


def _busy_seconds() -> float | None:
    """CPU seconds spent by the whole machine so far (from /proc/stat), to see what other processes took."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return (sum(v) - v[3] - (v[4] if len(v) > 4 else 0)) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _block(fn: Callable[[], float], n: int, warmup: int) -> tuple[float, float | None]:
    """(images/s from the median per-batch time, CPU seconds other processes used during the block)."""
    for _ in range(warmup):
        fn()
    b0, me0 = _busy_seconds(), sum(os.times()[:2])
    times = [fn() for _ in range(n)]
    b1, me1 = _busy_seconds(), sum(os.times()[:2])
    other = None if b0 is None or b1 is None else round(max(0.0, (b1 - b0) - (me1 - me0)), 1)
    return rate(times), other


def measure(notebook: Callable[[], float], engine: Callable[[], float], n_nb: int, n_eng: int, warmup: int,
            rounds: int, engine_threads: int) -> dict[str, Any]:
    """`rounds` alternating blocks (notebook batches with torch's default threads, then engine batches with
    every core). Each block's median per-batch time gives a rate; each side keeps its best block, the figure a
    quiet machine gives (on a shared CPU a burst of load from other processes slows whichever block it hits;
    `other_cpu_s` says how much CPU time other processes took during each block)."""
    nb, eng = [], []
    for _ in range(rounds):
        torch.set_num_threads(DEFAULT_THREADS)
        nb.append(_block(notebook, n_nb, warmup))
        torch.set_num_threads(engine_threads)
        eng.append(_block(engine, n_eng, warmup))
    a, b = max(r for r, _ in nb), max(r for r, _ in eng)
    return {"notebook_images_per_s": a, "engine_images_per_s": b, "ratio": round(b / a, 2),
            "rounds": {"notebook": [r for r, _ in nb], "engine": [r for r, _ in eng]},
            "other_cpu_s": {"notebook": [o for _, o in nb], "engine": [o for _, o in eng]},
            "batches_per_round": [n_nb, n_eng]}


def rate(times: list[float], batch: int = BATCH) -> float:
    return round(batch / statistics.median(times), 1)


def summary(nb: list[float], eng: list[float]) -> dict[str, Any]:
    a, b = rate(nb), rate(eng)
    return {"notebook_images_per_s": a, "engine_images_per_s": b, "ratio": round(b / a, 2),
            "batches": [len(nb), len(eng)]}


# ---- GPU --------------------------------------------------------------------------------------------

def peak_bf16_flops(name: str, override: float | None) -> float | None:
    if override:
        return override * 1e12
    for key, tflops in (("H200", 989.0), ("H100", 989.0), ("A100", 312.0), ("L40S", 362.0), ("A10", 125.0)):
        if key in name:
            return tflops * 1e12
    return None


def gpu_section(data_spec: dict[str, Any], args: argparse.Namespace, nb_data: torch.Tensor,
                nb_labels: torch.Tensor) -> dict[str, Any]:
    dev = torch.device("cuda", 0)
    name = torch.cuda.get_device_name(0)
    peak = peak_bf16_flops(name, args.peak_tflops)
    out: dict[str, Any] = {"device": name, "peak_bf16_tflops": peak / 1e12 if peak else None, "variants": {}}
    for vname, (model, resize) in SEED_VARIANTS.items():
        best: dict[str, Any] | None = None
        for batch in args.gpu_batches:
            try:
                t = engine_trainer(data_spec, model, resize, "cuda", batch)
                times = engine_loop(t, args.gpu_steps, 3, t.step)
                r = rate(times, batch)
                if best is None or r > best["images_per_s"]:
                    best = {"batch_size": batch, "images_per_s": r}
                del t
                torch.cuda.empty_cache()
            except torch.cuda.OutOfMemoryError:
                torch.cuda.empty_cache()
                break
        if best is None:
            continue
        size = resize or 36
        madds = layer_table({"num_classes": 10, **{k: v for k, v in model.items() if k != "pretrained"}}, size)
        flops_per_image = 3 * 2 * madds["totals"]["mult_adds"]  # forward + backward ~ 3x forward
        best["tflops"] = round(flops_per_image * best["images_per_s"] / 1e12, 2)
        best["fraction_of_peak"] = round(flops_per_image * best["images_per_s"] / peak, 4) if peak else None
        out["variants"][vname] = best
        log(f"gpu {vname}: {best}")
    # the notebook's loop on this GPU against the engine, both at batch 64, 36 px
    torch.set_num_threads(DEFAULT_THREADS)
    nb = notebook_steps(notebook_loader(nb_data, nb_labels, 36), dev, max(args.steps36, 20), 3)
    torch.set_num_threads(cpu_threads())
    t = engine_trainer(data_spec, {}, None, "cuda")
    eng = engine_loop(t, max(args.steps36, 20), 5, t.step)
    out["train_step_36_batch64"] = summary(nb, eng)
    return out


# ---- main -------------------------------------------------------------------------------------------

def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--aug-batches", type=int, default=12, help="timed batches per augmentation measurement")
    p.add_argument("--steps36", type=int, default=8, help="timed training steps at 36 px (each side)")
    p.add_argument("--steps224", type=int, default=3, help="timed training steps at 224 px (each side)")
    p.add_argument("--warmup", type=int, default=2, help="untimed batches before each measurement")
    p.add_argument("--rounds", type=int, default=3,
                   help="alternating notebook/engine blocks for augmentation and 36 px steps (best block kept)")
    p.add_argument("--rounds224", type=int, default=2, help="the same for 224 px training steps")
    p.add_argument("--sizes", default="36,224", help="comma-separated: 36 and/or 224")
    p.add_argument("--no-steps", action="store_true", help="augmentation only (fast)")
    p.add_argument("--no-extra", action="store_true", help="skip notebook_all_threads")
    p.add_argument("--gpu-only", action="store_true", help="with CUDA: only the GPU section")
    p.add_argument("--gpu-batches", default="64,128,256,512", help="batch sizes tried per variant on CUDA")
    p.add_argument("--gpu-steps", type=int, default=20, help="timed steps per variant and batch on CUDA")
    p.add_argument("--peak-tflops", type=float, default=None, help="the GPU's dense bf16 peak, if not known")
    args = p.parse_args()
    args.gpu_batches = [int(b) for b in args.gpu_batches.split(",") if b]
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.gpu_only and torch.cuda.is_available():
        sizes, args.no_steps = [], True
    started = time.time()
    engine_threads = cpu_threads()
    # the trainer process tunes glibc's allocator at start (loop.tune_malloc); this process holds both
    # pipelines, so the notebook's side gets the same allocator: the comparison stays about the loops
    malloc_tuned = tune_malloc()

    fm = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").exists()
    data_spec: dict[str, Any] = ({"source": "fashion-mnist", "train_subset": 4096, "test_subset": 64, "pad_to": 36}
                                 if fm else
                                 {"source": "synthetic", "pad_to": 36, "channels": 3,
                                  "synthetic": {"train_size": 4096, "test_size": 64, "image_size": 28,
                                                "num_classes": 10}})
    result: dict[str, Any] = {
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "python": platform.python_version(), "torch": torch.__version__,
                    "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                    "load_avg_before": load_avg()},
        "setup": {"batch_size": BATCH, "variant": "scratch (torchvision resnet18, 10 classes)",
                  "data": "Fashion-MNIST padded to 36x36, RGB" if fm else "synthetic 28->36 px RGB (Fashion-MNIST "
                                                                       "not installed)",
                  "notebook_threads": DEFAULT_THREADS, "engine_threads": engine_threads,
                  "malloc_tuned_for_both": malloc_tuned,
                  "timing": "per side, the best of --rounds alternating blocks of median per-batch times"},
        "augmentation": {}, "train_step": {}, "targets": TARGETS,
    }
    trainers = {s: engine_trainer(data_spec, {}, None if s == 36 else s, "cpu") for s in sizes or [36]}
    ds = trainers[(sizes or [36])[0]].ds
    # the notebook's tensors: float images on the [0, 1] scale, 3 channels, as its train_data.pt
    nb_data = (ds.train.x.float() / 255).expand(-1, 3, -1, -1).contiguous()
    nb_labels = ds.train.y.clone()

    for s in sizes:
        t = trainers[s]
        result["augmentation"][str(s)] = measure(
            notebook_augment_timer(notebook_loader(nb_data, nb_labels, s)),
            engine_timer(t, lambda idx, t=t: t.aug.train(t.train_x[idx], generator=t.aug_gen)),
            args.aug_batches, 3 * args.aug_batches, args.warmup, args.rounds, engine_threads)
        log(f"augmentation {s}px: {result['augmentation'][str(s)]}")
    if not args.no_steps:
        for s in sizes:
            t = trainers[s]
            n = args.steps36 if s == 36 else args.steps224
            w = args.warmup if s == 36 else 1
            nb_timer = notebook_step_timer(notebook_loader(nb_data, nb_labels, s), torch.device("cpu"))
            result["train_step"][str(s)] = measure(nb_timer, engine_timer(t, t.step), n, n, w,
                                                   args.rounds if s == 36 else args.rounds224, engine_threads)
            result["train_step"][str(s)]["engine_channels_last"] = t.channels_last
            log(f"train step {s}px: {result['train_step'][str(s)]}")
            if not args.no_extra and engine_threads != DEFAULT_THREADS:
                torch.set_num_threads(engine_threads)
                nb_all, other = _block(notebook_step_timer(notebook_loader(nb_data, nb_labels, s),
                                                           torch.device("cpu")), n, w)
                eng_rate = result["train_step"][str(s)]["engine_images_per_s"]
                result.setdefault("notebook_all_threads", {})[str(s)] = {
                    "threads": engine_threads, "notebook_images_per_s": nb_all,
                    "engine_ratio": round(eng_rate / nb_all, 2), "other_cpu_s": other}
                log(f"notebook with {engine_threads} threads {s}px: {result['notebook_all_threads'][str(s)]}")
    met = {}
    if "36" in result["train_step"]:
        met["train_step_36"] = result["train_step"]["36"]["ratio"] >= TARGETS["train_step_36"]
    for s in ("36", "224"):
        if s in result["augmentation"]:
            met[f"augmentation_{s}"] = result["augmentation"][s]["ratio"] >= TARGETS[f"augmentation_{s}"]
    if torch.cuda.is_available():
        try:
            result["gpu"] = gpu_section(data_spec, args, nb_data, nb_labels)
            met["gpu_train_step_36"] = result["gpu"]["train_step_36_batch64"]["ratio"] >= TARGETS["gpu_train_step_36"]
        except Exception as e:  # noqa: BLE001 - report what failed, keep the CPU figures
            result["gpu"] = {"error": f"{type(e).__name__}: {e}"}
    result["met"] = met
    result["machine"]["load_avg_after"] = load_avg()
    result["seconds"] = round(time.time() - started, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
