"""Device choice and DistributedDataParallel under torchrun (NCCL on CUDA, gloo on CPU).

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; without them the trainer is a single process. Every rank trains
on its own shard of each epoch's permutation; rank 0 reports and writes checkpoints.
"""

from __future__ import annotations

import datetime
import hashlib
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
import torch.nn as nn

COLLECTIVE_TIMEOUT_S = float(os.environ.get("TRAINYARD_DIST_TIMEOUT_S", "300"))


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str | None = None

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def select_device(devices: list[int], local_rank: int = 0) -> torch.device:
    """CUDA when the job names GPUs and CUDA is usable (CUDA_VISIBLE_DEVICES already narrows it), else CPU."""
    gpus = [d for d in devices if d >= 0]
    if not gpus:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise RuntimeError(f"the run was assigned GPU(s) {gpus} but CUDA is not available to this trainer "
                           f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r})")
    n = torch.cuda.device_count()
    if local_rank >= n:
        raise RuntimeError(f"local rank {local_rank} has no GPU: only {n} visible")
    torch.cuda.set_device(local_rank)
    return torch.device("cuda", local_rank)


def init_distributed(devices: list[int]) -> DistContext:
    world = _env_int("WORLD_SIZE", 1)
    rank, local = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    device = select_device(devices, local)
    if world <= 1:
        return DistContext(device=device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=COLLECTIVE_TIMEOUT_S))
    return DistContext(rank=rank, world_size=world, local_rank=local, device=device, backend=backend)


def shutdown(ctx: DistContext) -> None:
    if ctx.enabled and dist.is_initialized():
        try:
            dist.destroy_process_group()
        except Exception:  # noqa: BLE001 - a peer that died already; nothing left to release
            pass


def wrap_model(ctx: DistContext, model: nn.Module) -> nn.Module:
    if not ctx.enabled:
        return model
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def any_rank(ctx: DistContext, flag: bool) -> bool:
    """True on every rank when it is true on any (a stop request reaches ranks at slightly different times)."""
    if not ctx.enabled:
        return flag
    t = torch.tensor([1 if flag else 0], device=ctx.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def all_sum(ctx: DistContext, t: torch.Tensor) -> torch.Tensor:
    if ctx.enabled:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def gather_objects(ctx: DistContext, obj: Any) -> list[Any]:
    if not ctx.enabled:
        return [obj]
    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def sync_buffers(ctx: DistContext, model: nn.Module) -> None:
    """BatchNorm running statistics drift per rank after the last forward; take rank 0's everywhere so that
    evaluation and checkpoints see one model."""
    if not ctx.enabled:
        return
    for b in model.buffers():
        dist.broadcast(b.data, src=0)


def state_digest(model: nn.Module) -> str:
    """sha256 over every parameter and buffer (names, shapes, bytes): equal digests = identical models."""
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        c = t.detach().cpu().contiguous()
        h.update(f"{name}|{list(c.shape)}|{c.dtype}|".encode())
        h.update(c.reshape(-1).view(torch.uint8).numpy().tobytes() if c.numel() else b"")
    return h.hexdigest()
