"""ResNet18 variants of the notebook: pretrained or not, conv1 replaced, maxpool removed, fc for N classes.

Pretrained weights never come from the network: torchvision's DEFAULT weights must already be in the local
torch hub cache (or an explicit file is named). When they are missing, WeightsUnavailable names the file
expected and where, before any training starts, so the run can be reported as skipped.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from torchvision.models import resnet18

RESNET18_DEFAULT_FILE = "resnet18-f37072fd.pth"  # torchvision's ResNet18_Weights.IMAGENET1K_V1 (= DEFAULT)


class WeightsUnavailable(RuntimeError):
    """Pretrained weights are not available offline on this host."""

    def __init__(self, message: str, expected: str) -> None:
        super().__init__(message)
        self.expected = expected


class WeightsError(ValueError):
    """A weights file exists but cannot be used (corrupt, wrong architecture)."""


def default_weights_path() -> Path:
    """Where torchvision would cache the DEFAULT weights: $TORCH_HOME/hub/checkpoints (~/.cache/torch/...)."""
    try:
        from torchvision.models import ResNet18_Weights  # noqa: PLC0415 - torchvision >= 0.13
        name = os.path.basename(ResNet18_Weights.DEFAULT.url)
    except ImportError:
        name = RESNET18_DEFAULT_FILE
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def resolve_weights(pretrained: bool | str) -> Path | None:
    """The weights file a spec asks for, or None for random init; raises WeightsUnavailable when missing."""
    if pretrained is False:
        return None
    if pretrained is True:
        p = default_weights_path()
        if not p.is_file():
            raise WeightsUnavailable(
                f"pretrained weights not available offline: expected torchvision's ResNet18 DEFAULT weights at {p} "
                f"(the torch hub cache, $TORCH_HOME/hub/checkpoints; copy {p.name} there, or name a weights file "
                f"in model.pretrained)", str(p))
        return p
    p = Path(os.path.expanduser(pretrained))
    if not p.is_file():
        raise WeightsUnavailable(f"pretrained weights file not found: {p}", str(p))
    return p


def _state_dict_from(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    """Accept a plain state dict, a trainyard checkpoint ({'model': ...}) or {'state_dict': ...}."""
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]
    elif isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{path}: not a ResNet18 state dict")
    return {k[7:] if k.startswith("module.") else k: v for k, v in obj.items()}


def load_weights_file(path: Path) -> dict[str, torch.Tensor]:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise WeightsUnavailable(f"{path}: cannot read the weights file ({e.strerror or e})", str(path)) from None
    try:
        try:
            obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except TypeError:  # torch < 1.13
            obj = torch.load(io.BytesIO(data), map_location="cpu")
    except Exception as e:  # noqa: BLE001
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise WeightsError(f"{path}: not a readable weights file (truncated or corrupt?): {first}") from None
    return _state_dict_from(obj, path)


def build_model(model_spec: dict[str, Any], in_channels: int = 3, load_pretrained: bool = True) -> nn.Module:
    """The notebook's variants. load_pretrained=False gives the same architecture without reading weights
    (for shape tables)."""
    weights = resolve_weights(model_spec["pretrained"]) if load_pretrained else None
    num_classes = int(model_spec["num_classes"])
    if weights is not None:
        model = resnet18(num_classes=1000)
        sd = load_weights_file(weights)
        fc_w = sd.get("fc.weight")
        if fc_w is not None and fc_w.shape[0] != 1000:  # a file saved with its own head: take it as is
            model.fc = nn.Linear(512, int(fc_w.shape[0]))
        try:
            model.load_state_dict(sd, strict=True)
        except RuntimeError as e:
            raise WeightsError(f"{weights}: does not fit torchvision's resnet18: {str(e).splitlines()[0]}") from None
        if model.fc.out_features != num_classes:
            model.fc = nn.Linear(512, num_classes)  # the notebook's `model.fc = nn.Linear(512, 10)`
    else:
        model = resnet18(num_classes=num_classes)
    conv1 = model_spec.get("conv1")
    if conv1 is not None:
        # freshly initialised (kaiming, as nn.Conv2d does), the rest stays pretrained where asked
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=conv1["kernel"], stride=conv1["stride"],
                                padding=conv1["padding"], bias=False)
    elif in_channels != 3:
        old = model.conv1
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=old.kernel_size, stride=old.stride,
                                padding=old.padding, bias=False)
        if weights is not None:  # grayscale input: the pretrained filters summed over RGB see the same image
            with torch.no_grad():
                model.conv1.weight.copy_(old.weight.sum(1, keepdim=True))
    if not model_spec.get("maxpool", True):
        model.maxpool = nn.Identity()
    return model


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
