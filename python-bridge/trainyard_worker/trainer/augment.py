"""The notebook's augmentation on whole batches, on the training device.

The notebook applies, per sample in a DataLoader: RandomHorizontalFlip, RandomRotation((-7, 7)),
RandomAffine(0, shear=10, scale=(0.8, 1.2)), Normalize (and Resize((224, 224)) first for its 224 runs).
Each geometric op is an affine map of the image plane, so the whole chain is one 2x3 matrix per sample:
here the parameters are drawn for the whole batch at once, composed into one matrix per sample (with
torchvision's exact conventions: rotate's centre and sign, affine's shear/scale matrix), and applied with
ONE affine_grid + grid_sample per batch. Sampling is nearest-neighbour by default, as torchvision's rotation
and affine default to; an op asking for bilinear makes the composed sampling bilinear.

Resize: torchvision resizes first (bilinear) and then rotates the 224x224 image. `resize_mode="exact"` (the
default on CUDA, where full-size passes are cheap) does the same: bilinear resize, then the one composed
resampling at full size. `resize_mode="fast"` (the default on CPU, where memory bandwidth is the limit) lets
the composed matrix sample the small source directly with bilinear interpolation (= the resize) at a working
resolution of about 3x the source (112 px for 36 -> 224, so that the final bilinear upsample is an exact,
separable 2x), and the normalisation (with the 1 -> 3 channel write for grayscale) writes the full-size batch
once. Its output is slightly smoother than torchvision's (image gradients about 9%
lower at 36 -> 224 px, pixel statistics within 2%; measured in tests/test_augment.py).

Normalisation is folded into the last write (scale and bias per channel), and a grayscale source that the
model sees as RGB is augmented once and written to three channels by that same operation.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F


class BatchAugment:
    """Train/eval transforms for one dataset and spec. Call `train(x)` on a batch of stored images (uint8 or
    float, (B, C, H, W), already on the device) to get the normalised, augmented float batch; `eval(x)` for the
    test transform (normalise, resize)."""

    def __init__(self, ops: list[dict[str, Any]], *, in_size: tuple[int, int], resize: int | None,
                 stored_channels: int, channels: int, normalize: dict[str, list[float]] | None,
                 pixel_scale: float, device: torch.device | str = "cpu", resize_mode: str | None = None,
                 max_work_factor: float = 3.0, edge_is_zero: bool = False) -> None:
        self.ops = ops
        self.h, self.w = in_size
        self.device = torch.device(device)
        self.resize = resize if resize and (resize, resize) != (self.h, self.w) else None
        self.out_h, self.out_w = (self.resize, self.resize) if self.resize else (self.h, self.w)
        # exact: torchvision's order (bilinear resize, then one nearest/bilinear resampling at full size);
        # fast: one bilinear resampling at <= max_work_factor x the source size, then a bilinear upsample
        self.resize_mode = resize_mode or ("exact" if self.device.type == "cuda" else "fast")
        if self.resize_mode not in ("exact", "fast"):
            raise ValueError(f"resize_mode must be exact or fast, got {self.resize_mode!r}")
        if self.resize and self.resize_mode == "fast":
            src = max(self.h, self.w)
            half = self.resize // 2
            if self.resize % 2 == 0 and src <= half <= (max_work_factor + 1) * src:
                s = half  # an exact 2x bilinear upsample is separable and three times cheaper than interpolate
            else:
                s = min(self.resize, int(math.ceil(max_work_factor * src)))
            self.work_h = self.work_w = max(s, 1)
        else:
            self.work_h, self.work_w = self.out_h, self.out_w
        self.stored_channels = stored_channels
        self.edge_is_zero = edge_is_zero
        self.channels = channels
        self.mode = "bilinear" if any(o.get("interpolation") == "bilinear" for o in ops) else "nearest"
        mean = normalize["mean"] if normalize else [0.0]
        std = normalize["std"] if normalize else [1.0]
        mean_t = torch.tensor(mean, dtype=torch.float32).expand(channels) if len(mean) == 1 else torch.tensor(mean)
        std_t = torch.tensor(std, dtype=torch.float32).expand(channels) if len(std) == 1 else torch.tensor(std)
        # out = stored * scale + bias  ==  (stored * pixel_scale - mean) / std
        self.scale = (pixel_scale / std_t).view(1, channels, 1, 1).to(self.device, torch.float32)
        self.bias = (-mean_t / std_t).view(1, channels, 1, 1).to(self.device, torch.float32).contiguous()
        self.geometric = any(o["op"] in ("hflip", "rotation", "affine") for o in ops)

    # ---- parameters and matrices -------------------------------------------------------------------

    def sample_params(self, batch: int, generator: torch.Generator | None = None) -> list[dict[str, torch.Tensor]]:
        """Draw every op's parameters for a batch in one random call: a list parallel to `ops`."""
        u = torch.rand((batch, 4 * max(len(self.ops), 1)), generator=generator, device=self.device)
        out: list[dict[str, torch.Tensor]] = []
        for i, op in enumerate(self.ops):
            c = u[:, 4 * i:4 * i + 4]
            if op["op"] == "hflip":
                out.append({"flip": c[:, 0] < op["p"]})
            elif op["op"] == "rotation":
                lo, hi = op["degrees"]
                out.append({"angle": lo + (hi - lo) * c[:, 0]})
            else:  # affine: angle, x shear in [-shear, shear], scale (torchvision's RandomAffine.get_params)
                lo, hi = op["degrees"]
                slo, shi = op["scale"]
                out.append({"angle": lo + (hi - lo) * c[:, 0], "shear": op["shear"] * (2 * c[:, 1] - 1),
                            "scale": slo + (shi - slo) * c[:, 2]})
        return out

    def matrices(self, params: list[dict[str, torch.Tensor]], batch: int) -> torch.Tensor:
        """Composed inverse maps (output pixel -> source pixel) as affine_grid thetas (B, 2, 3), normalised."""
        m = torch.eye(2, device=self.device).expand(batch, 2, 2)
        for op, p in zip(self.ops, params):
            m = _matmul2(m, op_inverse(op["op"], p, batch, self.device))
        # pixel frame -> normalised frame: D^-1 M D, D = diag(w/2, h/2) of the frame the ops act in
        fw, fh = (self.out_w, self.out_h)
        if fw != fh:
            d = torch.tensor([fw / 2.0, fh / 2.0], device=self.device)
            m = m * d.view(1, 1, 2) / d.view(1, 2, 1)
        theta = torch.zeros((batch, 2, 3), device=self.device)
        theta[:, :, :2] = m
        return theta

    # ---- transforms ------------------------------------------------------------------------------

    def _normalise(self, v: torch.Tensor) -> torch.Tensor:
        if v.shape[1] == self.channels:
            return v.mul_(self.scale).add_(self.bias)
        return torch.addcmul(self.bias, v, self.scale)  # 1 -> 3 channels in the same write

    def _upsample(self, v: torch.Tensor) -> torch.Tensor:
        if (v.shape[2], v.shape[3]) == (self.out_h, self.out_w):
            return v
        if (2 * v.shape[2], 2 * v.shape[3]) == (self.out_h, self.out_w):
            return upsample2x(v)
        return F.interpolate(v, size=(self.out_h, self.out_w), mode="bilinear", align_corners=False)

    def train(self, x: torch.Tensor, generator: torch.Generator | None = None,
              params: list[dict[str, torch.Tensor]] | None = None) -> torch.Tensor:
        b = x.shape[0]
        if not self.geometric:
            return self.eval(x)
        xf = x if x.dtype == torch.float32 else x.float()
        if params is None:
            params = self.sample_params(b, generator)
        theta = self.matrices(params, b)
        grid = affine_grid(theta, self.work_h, self.work_w)
        if self.resize and self.resize_mode == "exact":
            up = F.interpolate(xf, size=(self.out_h, self.out_w), mode="bilinear", align_corners=False)
            v = F.grid_sample(up, grid, mode=self.mode, padding_mode="zeros", align_corners=False)
        elif self.resize and not self.edge_is_zero:
            # bilinear from the source = torchvision's Resize (edge-clamped); beyond the frame: the fill, 0
            v = F.grid_sample(xf, grid, mode="bilinear", padding_mode="border", align_corners=False)
            outside = (grid.abs() > 1).any(-1).unsqueeze(1)
            v = v.masked_fill_(outside, 0.0)
        else:
            # (an all-zero image border makes zero padding identical to edge clamping plus the fill)
            v = F.grid_sample(xf, grid, mode="bilinear" if self.resize else self.mode, padding_mode="zeros",
                              align_corners=False)
        return self._finish(v)

    def eval(self, x: torch.Tensor) -> torch.Tensor:
        return self._finish(x.float() if x.dtype != torch.float32 else x.clone())

    def _finish(self, v: torch.Tensor) -> torch.Tensor:
        """Normalise and resize. Both are linear and the resize clamps at the edges (no zero padding), so their
        order does not change the result; the cheaper order writes the full-size batch once: a grayscale
        source is upsampled on its one channel and then written to three, an RGB one normalised first."""
        if v.shape[1] < self.channels:
            return self._normalise(self._upsample(v))
        return self._upsample(self._normalise(v))


def affine_grid(theta: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """F.affine_grid(theta, (B, C, h, w), align_corners=False) by broadcasting: the same sampling points without
    a batched matmul over every pixel (which is most of the cost on CPUs without an optimised BLAS)."""
    b = theta.shape[0]
    xs = (torch.arange(w, device=theta.device, dtype=theta.dtype) * 2 + 1) / w - 1
    ys = (torch.arange(h, device=theta.device, dtype=theta.dtype) * 2 + 1) / h - 1
    t = theta.view(b, 1, 1, 2, 3)
    row = t[..., 2] + xs.view(1, 1, w, 1) * t[..., 0]       # (B, 1, w, 2)
    col = ys.view(1, h, 1, 1) * t[..., 1]                     # (B, h, 1, 2)
    return row + col                                          # (B, h, w, 2)


def upsample2x(v: torch.Tensor) -> torch.Tensor:
    """F.interpolate(v, scale_factor=2, mode="bilinear", align_corners=False), separably: with a factor of
    exactly 2 every output pixel is 3/4 of its nearest input pixel and 1/4 of the next one (edges clamped)."""
    return _up2_dim(_up2_dim(v, 3), 2)


def _up2_dim(v: torch.Tensor, dim: int) -> torch.Tensor:
    n = v.shape[dim]
    shape = list(v.shape)
    shape[dim] = 2 * n
    out = torch.empty(shape, dtype=v.dtype, device=v.device)
    even, odd = out.narrow(dim, 0, 2 * n).unflatten(dim, (n, 2)).unbind(dim + 1)
    if n == 1:
        even.copy_(v)
        odd.copy_(v)
        return out
    first, rest = v.narrow(dim, 0, n - 1), v.narrow(dim, 1, n - 1)
    torch.lerp(rest, first, 0.25, out=even.narrow(dim, 1, n - 1))   # out[2i]   = .75 v[i] + .25 v[i-1]
    even.narrow(dim, 0, 1).copy_(v.narrow(dim, 0, 1))
    torch.lerp(first, rest, 0.25, out=odd.narrow(dim, 0, n - 1))    # out[2i+1] = .75 v[i] + .25 v[i+1]
    odd.narrow(dim, n - 1, 1).copy_(v.narrow(dim, n - 1, 1))
    return out


def _matmul2(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Batched 2x2 products elementwise (tiny matrices: cheaper than a BLAS call per batch)."""
    return (a.unsqueeze(-1) * b.unsqueeze(-3)).sum(-2)


def op_inverse(kind: str, p: dict[str, torch.Tensor], batch: int, device: torch.device) -> torch.Tensor:
    """One op's inverse 2x2 matrix per sample in pixel coordinates centred on the image (x right, y down),
    exactly as torchvision.transforms.functional builds it for tensors."""
    if kind == "hflip":
        sign = 1.0 - 2.0 * p["flip"].float()
        m = torch.zeros((batch, 2, 2), device=device)
        m[:, 0, 0] = sign
        m[:, 1, 1] = 1.0
        return m
    if kind == "rotation":
        # F.rotate(img, a) uses _get_inverse_affine_matrix(centre, -a, ...): [[cos a, -sin a], [sin a, cos a]]
        r = torch.deg2rad(p["angle"])
        c, s = torch.cos(r), torch.sin(r)
        return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
    # affine (angle a, scale k, shear (sx, 0)): RSS = R(a) S(k) SHx(sx); inverse = [[d, -b], [-c, a]] / k
    rot = torch.deg2rad(p["angle"])
    tsx = torch.tan(torch.deg2rad(p["shear"]))
    cr, sr = torch.cos(rot), torch.sin(rot)
    a, b, c, d = cr, -cr * tsx - sr, sr, -sr * tsx + cr
    k = p["scale"]
    return torch.stack([torch.stack([d, -b], -1), torch.stack([-c, a], -1)], -2) / k.view(-1, 1, 1)
