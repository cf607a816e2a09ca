"""The notebook's torchinfo table as data: every layer and block with its input and output shape,
parameters and multiply-adds, for any model variant and input size.

Called through pythonia by the orchestrator (via introspect_entry.py), so it returns plain JSON values and stays
fast: the model is built without reading pretrained weights (shapes and counts do not depend on them) and run
once on a single zero image.

Multiply-adds follow torchinfo's rule so the totals match the notebook (81.05 M for ResNet18 at 36x36): a
convolution counts its weights and bias times the output's spatial size, any other layer with parameters counts
them once per sample; layers without parameters (ReLU, pooling) count zero.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from .data import describe_dataset  # noqa: F401 - re-exported: both questions are asked through pythonia
from .job import validate_model
from .model import build_model


def _shape(x: Any) -> list[int] | None:
    if isinstance(x, torch.Tensor):
        return [int(d) for d in x.shape]
    if isinstance(x, (list, tuple)) and x and isinstance(x[0], torch.Tensor):
        return [int(d) for d in x[0].shape]
    return None


def _own_mult_adds(module: nn.Module, out_shape: list[int] | None) -> int:
    if not out_shape:
        return 0
    total = 0
    conv = "Conv" in type(module).__name__
    for p in module.parameters(recurse=False):
        if conv:
            spatial = 1
            for d in out_shape[2:]:
                spatial *= d
            total += p.numel() * out_shape[0] * spatial
        else:
            total += p.numel() * out_shape[0]
    return total


def layer_table(spec_model: dict[str, Any], input_size: int, channels: int = 3) -> dict[str, Any]:
    """{input_shape, output_shape, rows: [{depth, index, name, type, input_shape, output_shape, params, mult_adds,
    leaf}], totals: {params, trainable_params, mult_adds, input_size_mb, forward_backward_size_mb,
    params_size_mb, estimated_total_size_mb}}."""
    if not isinstance(input_size, int) or isinstance(input_size, bool) or not 1 <= input_size <= 4096:
        raise ValueError(f"input_size must be an integer in [1, 4096], got {input_size!r}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels!r}")
    m = validate_model(spec_model, "model")
    model = build_model(m, in_channels=channels, load_pretrained=False).eval()
    names = {mod: name for name, mod in model.named_modules()}
    rows: list[dict[str, Any]] = []
    stack: list[int] = []
    counters: dict[int, int] = {}

    def pre(mod: nn.Module, inputs: Any) -> None:
        name = names.get(mod, "?")
        depth = 0 if name == "" else name.count(".") + 1
        counters[depth] = counters.get(depth, 0) + 1
        leaf = not any(True for _ in mod.children())
        params = sum(p.numel() for p in (mod.parameters(recurse=False) if leaf else mod.parameters()))
        rows.append({"depth": depth, "index": f"{depth}-{counters[depth]}", "name": name,
                     "type": type(mod).__name__, "input_shape": _shape(inputs), "output_shape": None,
                     "params": int(params), "mult_adds": 0, "leaf": leaf, "_own": 0, "_out": 0})
        stack.append(len(rows) - 1)

    def post(mod: nn.Module, inputs: Any, output: Any) -> None:
        i = stack.pop()
        row = rows[i]
        row["output_shape"] = _shape(output)
        row["_own"] = _own_mult_adds(mod, row["output_shape"])
        if row["leaf"] and isinstance(output, torch.Tensor):
            row["_out"] = output.numel()
        row["mult_adds"] = row["_own"] + sum(r["_own"] for r in rows[i + 1:])

    handles = []
    for mod in model.modules():
        handles.append(mod.register_forward_pre_hook(pre))
        handles.append(mod.register_forward_hook(post))
    x = torch.zeros((1, channels, input_size, input_size))
    try:
        with torch.no_grad():
            out = model(x)
    except RuntimeError as e:
        raise ValueError(f"input {input_size}x{input_size} is too small for this variant: {str(e).splitlines()[0]}") from None
    finally:
        for h in handles:
            h.remove()
    total_params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    mult_adds = sum(r["_own"] for r in rows)
    # torchinfo's estimates: float32 bytes; forward/backward = every leaf output kept once for the backward pass
    out_bytes = sum(r["_out"] for r in rows if r["_own"] or r["params"]) * 4 * 2
    input_mb = x.numel() * 4 / 1e6
    params_mb = total_params * 4 / 1e6
    for r in rows:
        del r["_own"], r["_out"]
    return {
        "input_shape": [1, channels, input_size, input_size],
        "output_shape": [int(d) for d in out.shape],
        "rows": rows,
        "totals": {"params": int(total_params), "trainable_params": int(trainable), "mult_adds": int(mult_adds),
                   "input_size_mb": round(input_mb, 2), "forward_backward_size_mb": round(out_bytes / 1e6, 2),
                   "params_size_mb": round(params_mb, 2),
                   "estimated_total_size_mb": round(input_mb + out_bytes / 1e6 + params_mb, 2)},
    }
