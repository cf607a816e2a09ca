"""The job file the agent writes (job.json) and the RunSpec inside it, validated at the edge.

The RunSpec mirrors src/contracts/spec.ts. Missing fields take that file's defaults (so a partial spec from
the CLI works), unknown fields are ignored (forward compatible), and every bad value raises JobError naming
the field, e.g. "spec.train.batch_size must be an integer >= 1, got -3".
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from pathlib import Path
from typing import Any

DATA_SOURCES = ("tensor-files", "cifar10", "image-folder", "fashion-mnist", "synthetic")
OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("none", "step", "cosine", "onecycle")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
INTERPOLATIONS = ("nearest", "bilinear")
DEFAULT_FASHION_MNIST_PATH = "/usr/share/datasets/fashion-mnist"
NOTEBOOK_NORMALIZE = {"mean": [0.491, 0.482, 0.446], "std": [0.247, 0.243, 0.261]}
NOTEBOOK_AUGMENT: list[dict[str, Any]] = [
    {"op": "hflip", "p": 0.5},
    {"op": "rotation", "degrees": [-7, 7]},
    {"op": "affine", "degrees": [0, 0], "shear": 10, "scale": [0.8, 1.2]},
]


class JobError(ValueError):
    """A job file or spec that cannot be run as given; the message names the field."""


def default_run_spec() -> dict[str, Any]:
    """defaultRunSpec() of src/contracts/spec.ts."""
    return {
        "model": {"arch": "resnet18", "pretrained": False, "conv1": None, "maxpool": True, "num_classes": 10},
        "data": {
            "source": "fashion-mnist", "path": None, "train_subset": None, "test_subset": None, "pad_to": 36,
            "resize": None, "channels": 3, "normalize": copy.deepcopy(NOTEBOOK_NORMALIZE),
            "augment": copy.deepcopy(NOTEBOOK_AUGMENT),
        },
        "optim": {"name": "adam", "lr": 1e-3, "weight_decay": 0, "momentum": 0.9, "schedule": {"name": "none"}},
        "train": {"epochs": 10, "batch_size": 64, "seed": 0, "precision": "auto", "channels_last": True,
                  "eval_every": 1, "compile": False},
        "resources": {"gpus": 0, "min_gpu_memory_mb": 0, "labels": [], "share": False},
        "priority": 0,
        "max_restarts": 2,
    }


# ---- small typed readers: each names the field it rejects ---------------------------------------

def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _int(v: Any, field: str, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not _is_int(v) or (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f" >= {lo}" if hi is None and lo is not None else f" in [{lo}, {hi}]" if lo is not None else ""
        raise JobError(f"{field} must be an integer{rng}, got {v!r}")
    return int(v)


def _num(v: Any, field: str, lo: float | None = None, hi: float | None = None, lo_open: bool = False) -> float:
    if not (isinstance(v, (int, float)) and not isinstance(v, bool)) or not math.isfinite(v):
        raise JobError(f"{field} must be a finite number, got {v!r}")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise JobError(f"{field} must be {'>' if lo_open else '>='} {lo}, got {v!r}")
    if hi is not None and v > hi:
        raise JobError(f"{field} must be <= {hi}, got {v!r}")
    return float(v)


def _bool(v: Any, field: str) -> bool:
    if not isinstance(v, bool):
        raise JobError(f"{field} must be true or false, got {v!r}")
    return v


def _choice(v: Any, field: str, choices: tuple[str, ...]) -> str:
    if v not in choices:
        raise JobError(f"{field} must be one of {', '.join(choices)}; got {v!r}")
    return str(v)


def _obj(v: Any, field: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise JobError(f"{field} must be an object, got {type(v).__name__}")
    return v


def _range(v: Any, field: str, lo: float | None = None, hi: float | None = None) -> list[float]:
    if not (isinstance(v, (list, tuple)) and len(v) == 2):
        raise JobError(f"{field} must be a [min, max] pair, got {v!r}")
    a, b = (_num(x, f"{field}[{i}]", lo, hi) for i, x in enumerate(v))
    if a > b:
        raise JobError(f"{field} must have min <= max, got {v!r}")
    return [a, b]


def _merge(defaults: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(defaults)
    for k, v in given.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


# ---- spec sections ---------------------------------------------------------------------------------

def validate_model(m: Any, field: str = "spec.model") -> dict[str, Any]:
    m = _merge(default_run_spec()["model"], _obj(m, field))
    if m["arch"] != "resnet18":
        raise JobError(f"{field}.arch must be 'resnet18', got {m['arch']!r}")
    p = m["pretrained"]
    if not isinstance(p, (bool, str)) or (isinstance(p, str) and not p.strip()):
        raise JobError(f"{field}.pretrained must be true, false or a weights file path, got {p!r}")
    if m["conv1"] is not None:
        c = _obj(m["conv1"], f"{field}.conv1")
        m["conv1"] = {"kernel": _int(c.get("kernel"), f"{field}.conv1.kernel", 1, 15),
                      "stride": _int(c.get("stride"), f"{field}.conv1.stride", 1, 8),
                      "padding": _int(c.get("padding"), f"{field}.conv1.padding", 0, 15)}
    m["maxpool"] = _bool(m["maxpool"], f"{field}.maxpool")
    m["num_classes"] = _int(m["num_classes"], f"{field}.num_classes", 2, 100_000)
    return m


def validate_augment(ops: Any, field: str) -> list[dict[str, Any]]:
    if not isinstance(ops, list):
        raise JobError(f"{field} must be a list of operations, got {type(ops).__name__}")
    out: list[dict[str, Any]] = []
    for i, op in enumerate(ops):
        f = f"{field}[{i}]"
        op = _obj(op, f)
        kind = op.get("op")
        if kind == "hflip":
            out.append({"op": "hflip", "p": _num(op.get("p", 0.5), f"{f}.p", 0.0, 1.0)})
        elif kind == "rotation":
            out.append({"op": "rotation", "degrees": _range(op.get("degrees"), f"{f}.degrees", -180, 180),
                        "interpolation": _choice(op.get("interpolation", "nearest"), f"{f}.interpolation",
                                                 INTERPOLATIONS)})
        elif kind == "affine":
            out.append({"op": "affine", "degrees": _range(op.get("degrees", [0, 0]), f"{f}.degrees", -180, 180),
                        "shear": _num(op.get("shear", 0), f"{f}.shear", 0, 89),
                        "scale": _range(op.get("scale", [1, 1]), f"{f}.scale", 1e-3, 100),
                        "interpolation": _choice(op.get("interpolation", "nearest"), f"{f}.interpolation",
                                                 INTERPOLATIONS)})
        else:
            raise JobError(f"{f}.op must be one of hflip, rotation, affine; got {kind!r}")
    return out


def validate_data(d: Any, field: str = "spec.data") -> dict[str, Any]:
    d = _merge(default_run_spec()["data"], _obj(d, field))
    d["source"] = _choice(d["source"], f"{field}.source", DATA_SOURCES)
    if d["path"] is not None and (not isinstance(d["path"], str) or not d["path"].strip()):
        raise JobError(f"{field}.path must be a non-empty string or null, got {d['path']!r}")
    for k in ("train_subset", "test_subset"):
        if d[k] is not None:
            d[k] = _int(d[k], f"{field}.{k}", 1)
    for k in ("pad_to", "resize"):
        if d[k] is not None:
            d[k] = _int(d[k], f"{field}.{k}", 1, 4096)
    d["channels"] = _int(d["channels"], f"{field}.channels", 1, 3)
    if d["channels"] == 2:
        raise JobError(f"{field}.channels must be 1 or 3, got 2")
    if d["normalize"] is not None:
        n = _obj(d["normalize"], f"{field}.normalize")
        mean, std = n.get("mean"), n.get("std")
        for name, v in (("mean", mean), ("std", std)):
            if not isinstance(v, list) or len(v) not in (1, d["channels"]):
                want = "1 number" if d["channels"] == 1 else f"1 or {d['channels']} numbers (one per channel)"
                raise JobError(f"{field}.normalize.{name} must be a list of {want} for data.channels "
                               f"{d['channels']}, got {v!r}")
        d["normalize"] = {"mean": [_num(x, f"{field}.normalize.mean[{i}]") for i, x in enumerate(mean)],
                          "std": [_num(x, f"{field}.normalize.std[{i}]", 0, lo_open=True) for i, x in enumerate(std)]}
    d["augment"] = validate_augment(d["augment"], f"{field}.augment")
    if d["source"] == "synthetic":
        s = _obj(d.get("synthetic") or {}, f"{field}.synthetic")
        d["synthetic"] = {
            "train_size": _int(s.get("train_size", 512), f"{field}.synthetic.train_size", 1, 10_000_000),
            "test_size": _int(s.get("test_size", 128), f"{field}.synthetic.test_size", 1, 10_000_000),
            "image_size": _int(s.get("image_size", 32), f"{field}.synthetic.image_size", 4, 1024),
            "num_classes": _int(s.get("num_classes", 10), f"{field}.synthetic.num_classes", 2, 1000),
            "seed": _int(s.get("seed", 0), f"{field}.synthetic.seed", 0),
        }
    return d


def validate_spec(spec: Any, field: str = "spec") -> dict[str, Any]:
    spec = _obj(spec, field)
    base = default_run_spec()
    out = _merge(base, {k: v for k, v in spec.items() if k not in ("model", "data")})
    out["model"] = validate_model(spec.get("model", {}), f"{field}.model")
    out["data"] = validate_data(spec.get("data", {}), f"{field}.data")
    o = _obj(out["optim"], f"{field}.optim")
    o["name"] = _choice(o["name"], f"{field}.optim.name", OPTIMIZERS)
    o["lr"] = _num(o["lr"], f"{field}.optim.lr", 0, 10, lo_open=True)
    o["weight_decay"] = _num(o["weight_decay"], f"{field}.optim.weight_decay", 0, 10)
    o["momentum"] = _num(o["momentum"], f"{field}.optim.momentum", 0, 1)
    s = _obj(o["schedule"], f"{field}.optim.schedule")
    s["name"] = _choice(s.get("name", "none"), f"{field}.optim.schedule.name", SCHEDULES)
    if "step_size" in s and s["step_size"] is not None:
        s["step_size"] = _int(s["step_size"], f"{field}.optim.schedule.step_size", 1)
    if "gamma" in s and s["gamma"] is not None:
        s["gamma"] = _num(s["gamma"], f"{field}.optim.schedule.gamma", 0, 1, lo_open=True)
    if "max_lr" in s and s["max_lr"] is not None:
        s["max_lr"] = _num(s["max_lr"], f"{field}.optim.schedule.max_lr", 0, 10, lo_open=True)
    t = _obj(out["train"], f"{field}.train")
    t["epochs"] = _int(t["epochs"], f"{field}.train.epochs", 1, 100_000)
    t["batch_size"] = _int(t["batch_size"], f"{field}.train.batch_size", 1, 1_000_000)
    t["seed"] = _int(t["seed"], f"{field}.train.seed", 0, 2**63 - 1)
    t["precision"] = _choice(t["precision"], f"{field}.train.precision", PRECISIONS)
    t["channels_last"] = _bool(t["channels_last"], f"{field}.train.channels_last")
    t["eval_every"] = _int(t["eval_every"], f"{field}.train.eval_every", 1)
    t["compile"] = _bool(t["compile"], f"{field}.train.compile")
    r = _obj(out["resources"], f"{field}.resources")
    r["gpus"] = _int(r["gpus"], f"{field}.resources.gpus", 0, 1024)
    if out["data"]["source"] == "synthetic" and out["data"]["synthetic"]["num_classes"] > out["model"]["num_classes"]:
        raise JobError(f"{field}.data.synthetic.num_classes ({out['data']['synthetic']['num_classes']}) exceeds "
                       f"{field}.model.num_classes ({out['model']['num_classes']})")
    return out


def spec_digest(spec: dict[str, Any]) -> str:
    """sha256 of what decides the numbers a run produces (model, data, optim, train minus epochs/eval_every).

    Stored in checkpoints so a resume with a different spec fails instead of silently mixing two runs. It is
    the trainer's own digest, not the orchestrator's spec_hash (which only the TypeScript side computes).
    """
    train = {k: v for k, v in spec["train"].items() if k not in ("epochs", "eval_every", "compile")}
    keep = {"model": spec["model"], "data": spec["data"], "optim": spec["optim"], "train": train}
    text = json.dumps(keep, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def load_job(path: str | Path) -> dict[str, Any]:
    """Read and validate job.json: {run_id, attempt, spec, devices, resume_from, run_dir}."""
    p = Path(path)
    try:
        raw = p.read_text("utf-8")
    except OSError as e:
        raise JobError(f"job file {p}: cannot read it ({e.strerror or e})") from None
    try:
        job = json.loads(raw)
    except ValueError as e:
        raise JobError(f"job file {p}: not valid JSON ({e})") from None
    return validate_job(job, default_run_dir=p.parent)


def validate_job(job: Any, default_run_dir: Path | None = None) -> dict[str, Any]:
    job = _obj(job, "job")
    run_id = job.get("run_id")
    if not isinstance(run_id, str) or not run_id or len(run_id) > 200:
        raise JobError(f"job.run_id must be a non-empty string, got {run_id!r}")
    attempt = _int(job.get("attempt", 0), "job.attempt", 0)
    devices = job.get("devices", [])
    if not isinstance(devices, list) or not all(_is_int(d) and d >= -1 for d in devices):
        raise JobError(f"job.devices must be a list of device indexes (-1 = CPU), got {devices!r}")
    resume = job.get("resume_from")
    if resume is not None and (not isinstance(resume, str) or not resume):
        raise JobError(f"job.resume_from must be a path or null, got {resume!r}")
    run_dir = job.get("run_dir")
    if run_dir is None:
        if default_run_dir is None:
            raise JobError("job.run_dir is required")
        run_dir = str(default_run_dir)
    if not isinstance(run_dir, str) or not run_dir:
        raise JobError(f"job.run_dir must be a directory path, got {run_dir!r}")
    spec = validate_spec(job.get("spec", {}), "job.spec")
    return {"run_id": run_id, "attempt": attempt, "spec": spec, "devices": devices, "resume_from": resume,
            "run_dir": run_dir}
