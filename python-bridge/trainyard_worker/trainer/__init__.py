"""The training engine: one process per run, started by the agent (`python -m trainyard_worker.trainer`).

Modules: job (job.json and RunSpec validation), data (sources, validation, fingerprint), augment (batched
on-device augmentation), model (ResNet18 variants), loop (training), checkpoint, distributed (torchrun/DDP),
events (reporting to the agent), summary (layer table). `layer_table` and `describe_dataset` are the two
questions the orchestrator asks through pythonia; they are imported lazily so that importing this package
does not import torch.
"""

from __future__ import annotations

from typing import Any

__all__ = ["layer_table", "describe_dataset"]


def __getattr__(name: str) -> Any:
    if name == "layer_table":
        from .summary import layer_table  # noqa: PLC0415
        return layer_table
    if name == "describe_dataset":
        from .data import describe_dataset  # noqa: PLC0415
        return describe_dataset
    raise AttributeError(name)
