"""Batched on-device augmentation against torchvision's per-sample transforms (the notebook's pipeline).

Single operations must match torchvision pixel for pixel. The composed pipeline resamples once instead of
twice, so it is compared as distributions: the geometry (areas, orientations, flips) measured on test
patterns, the drawn parameters, and the statistics of augmented Fashion-MNIST images.
"""

from __future__ import annotations

import warnings

import pytest
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as TF
from conftest import FASHION_MNIST, use_all_cores
from torchvision.transforms import InterpolationMode

from trainyard_worker.trainer.augment import BatchAugment, affine_grid
from trainyard_worker.trainer.data import load_dataset
from trainyard_worker.trainer.job import NOTEBOOK_AUGMENT, NOTEBOOK_NORMALIZE, validate_augment, validate_data

use_all_cores()
warnings.filterwarnings("ignore", category=UserWarning)  # torchvision's antialias notices

OPS = validate_augment(NOTEBOOK_AUGMENT, "augment")
MEAN, STD = NOTEBOOK_NORMALIZE["mean"], NOTEBOOK_NORMALIZE["std"]


def engine(ops=OPS, size=(36, 36), resize=None, stored=1, channels=3, normalize=NOTEBOOK_NORMALIZE, **kw):
    return BatchAugment(ops, in_size=size, resize=resize, stored_channels=stored, channels=channels,
                        normalize=normalize, pixel_scale=1 / 255, **kw)


def notebook_transform(resize=None):
    """Exactly the notebook's train_transform (and train_transform_224)."""
    pre = [T.Resize((resize, resize))] if resize else []
    return T.Compose(pre + [T.RandomHorizontalFlip(), T.RandomRotation((-7, 7)),
                            T.RandomAffine(0, shear=10, scale=(0.8, 1.2)), T.Normalize(MEAN, STD)])


def images(n=512) -> torch.Tensor:
    """Fashion-MNIST test images padded to 36x36 (uint8, one channel); synthetic ones if it is not installed."""
    if (FASHION_MNIST / "t10k-images-idx3-ubyte.gz").exists():
        spec = validate_data({"source": "fashion-mnist", "train_subset": 1, "test_subset": n})
    else:
        spec = validate_data({"source": "synthetic", "channels": 1, "normalize": None,
                              "synthetic": {"train_size": 1, "test_size": n, "image_size": 28, "num_classes": 10}})
    return load_dataset(spec).test.x


def ks(a: torch.Tensor, b: torch.Tensor) -> float:
    """Two-sample Kolmogorov-Smirnov statistic."""
    a, b = torch.sort(a.float()).values, torch.sort(b.float()).values
    grid = torch.cat([a, b]).sort().values
    fa = torch.searchsorted(a, grid, right=True).float() / len(a)
    fb = torch.searchsorted(b, grid, right=True).float() / len(b)
    return float((fa - fb).abs().max())


def ks_critical(n: int, m: int, alpha_coeff: float = 1.95) -> float:
    """KS critical value at alpha = 0.001 (coefficient 1.95)."""
    return alpha_coeff * ((n + m) / (n * m)) ** 0.5


# ---- single operations: identical to torchvision ---------------------------------------------------

def same_pixels(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Every output pixel took the same source pixel (values on the 0..255 grid; x/255 and x*(1/255) differ
    in the last float bit)."""
    return torch.equal((a * 255).round(), (b * 255).round())


def test_single_ops_match_torchvision_pixel_for_pixel():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (8, 3, 30, 40), dtype=torch.uint8, generator=g)  # non-square on purpose
    xf = x.float() / 255
    plain = {"mean": [0.0], "std": [1.0]}
    angles = torch.linspace(-30, 30, 8)
    rot = engine([{"op": "rotation", "degrees": [-30, 30], "interpolation": "nearest"}], size=(30, 40), stored=3,
                 normalize=plain)
    out = rot.train(x, params=[{"angle": angles}])
    ref = torch.stack([TF.rotate(xf[i], float(angles[i]), InterpolationMode.NEAREST, fill=[0.0] * 3)
                       for i in range(8)])
    assert same_pixels(out, ref)

    shear, scale = torch.linspace(-10, 10, 8), torch.linspace(0.8, 1.2, 8)
    aff = engine([{"op": "affine", "degrees": [-30, 30], "shear": 10, "scale": [0.8, 1.2], "interpolation": "nearest"}],
                 size=(30, 40), stored=3, normalize=plain)
    out = aff.train(x, params=[{"angle": angles, "shear": shear, "scale": scale}])
    ref = torch.stack([TF.affine(xf[i], float(angles[i]), [0, 0], float(scale[i]), [float(shear[i]), 0.0],
                                 InterpolationMode.NEAREST, fill=[0.0] * 3) for i in range(8)])
    assert same_pixels(out, ref)

    bil = engine([{"op": "rotation", "degrees": [-30, 30], "interpolation": "bilinear"}], size=(30, 40), stored=3,
                 normalize=plain)
    out = bil.train(x, params=[{"angle": angles}])
    ref = torch.stack([TF.rotate(xf[i], float(angles[i]), InterpolationMode.BILINEAR, fill=[0.0] * 3)
                       for i in range(8)])
    # torchvision also multiplies by its resampled coverage mask, which only differs from 1 at the frame edge
    inside = bil.train(torch.full_like(x, 255), params=[{"angle": angles}]) > 1 - 1e-6
    assert float(inside.float().mean()) > 0.6
    assert torch.allclose(out[inside], ref[inside], atol=1e-5)

    flips = torch.tensor([True, False] * 4)
    out = engine([{"op": "hflip", "p": 0.5}], stored=3, size=(30, 40), normalize=plain).train(x, params=[{"flip": flips}])
    assert same_pixels(out, torch.stack([TF.hflip(xf[i]) if flips[i] else xf[i] for i in range(8)]))


def test_broadcast_grid_equals_affine_grid():
    theta = torch.randn(5, 2, 3)
    for h, w in ((36, 36), (7, 13)):
        ref = torch.nn.functional.affine_grid(theta, [5, 1, h, w], align_corners=False)
        assert torch.allclose(affine_grid(theta, h, w), ref, atol=1e-6)


def test_normalisation_and_channel_replication():
    x = images(16)
    one = engine(stored=1).eval(x)
    three = engine(stored=3).eval(x.expand(-1, 3, -1, -1).contiguous())
    ref = TF.normalize(x.float().div(255).expand(-1, 3, -1, -1), MEAN, STD)
    assert torch.allclose(one, ref, atol=1e-5) and torch.allclose(three, ref, atol=1e-5)
    # augmenting one channel then replicating = augmenting the replicated image
    g1, g3 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    a = engine(stored=1).train(x, generator=g1)
    b = engine(stored=3).train(x.expand(-1, 3, -1, -1).contiguous(), generator=g3)
    assert torch.allclose(a, b, atol=1e-5)


def test_eval_with_resize_matches_torchvision():
    x = images(8)
    out = engine(resize=224).eval(x)
    tf = T.Compose([T.Resize((224, 224)), T.Normalize(MEAN, STD)])
    ref = torch.stack([tf(im) for im in x.float().div(255).expand(-1, 3, -1, -1)])
    assert out.shape == (8, 3, 224, 224)
    assert torch.allclose(out, ref, atol=1e-4)


# ---- the composed pipeline: same distributions as the notebook's ------------------------------------

def test_drawn_parameters_follow_the_notebook_ranges():
    a = engine()
    p = a.sample_params(20000, torch.Generator().manual_seed(0))
    flip, rot, aff = p[0]["flip"].float(), p[1]["angle"], p[2]
    assert abs(float(flip.mean()) - 0.5) < 0.015                   # 4.2 sigma for n = 20000
    for v, lo, hi in ((rot, -7, 7), (aff["shear"], -10, 10), (aff["scale"], 0.8, 1.2)):
        assert lo <= float(v.min()) and float(v.max()) <= hi
        u = (v - lo) / (hi - lo)
        assert ks(u, torch.linspace(0, 1, 20000)) < ks_critical(20000, 20000)
    assert float(aff["angle"].abs().max()) == 0.0                  # RandomAffine(0): no extra rotation


def _pattern_stats(kind: str, out: torch.Tensor) -> torch.Tensor:
    m = out[:, 0]
    h, w = m.shape[-2:]
    ys = torch.arange(h, dtype=torch.float32).view(1, h, 1)
    xs = torch.arange(w, dtype=torch.float32).view(1, 1, w)
    s = m.sum((1, 2))
    if kind == "area":
        return s
    cx = (m * xs).sum((1, 2)) / s
    if kind == "flip":
        return (cx > (w - 1) / 2).float()
    cy = (m * ys).sum((1, 2)) / s
    dx, dy = xs - cx.view(-1, 1, 1), ys - cy.view(-1, 1, 1)
    mu20, mu02, mu11 = (m * dx * dx).sum((1, 2)), (m * dy * dy).sum((1, 2)), (m * dx * dy).sum((1, 2))
    return torch.rad2deg(0.5 * torch.atan2(2 * mu11, mu20 - mu02))


@pytest.mark.parametrize("kind", ["area", "orientation", "flip"])
def test_geometry_distribution_matches_torchvision(kind):
    """A square (area = scale^2), a bar (orientation = rotation + shear) and an off-centre block (flip rate),
    each augmented 2000 times by both pipelines."""
    n = 2000
    img = torch.zeros(1, 36, 36)
    if kind == "area":
        img[:, 10:26, 10:26] = 1
    elif kind == "orientation":
        img[:, 17:19, 4:32] = 1
    else:
        img[:, 8:28, 6:14] = 1
    torch.manual_seed(0)
    tv = T.Compose([T.RandomHorizontalFlip(), T.RandomRotation((-7, 7)), T.RandomAffine(0, shear=10, scale=(0.8, 1.2))])
    a = _pattern_stats(kind, torch.stack([tv(img) for _ in range(n)]))
    eng = engine(stored=1, channels=1, normalize=None)
    eng.scale.fill_(1.0)  # no /255: the pattern is already 0..1
    b = _pattern_stats(kind, eng.train(img.unsqueeze(0).expand(n, -1, -1, -1).contiguous(),
                                       generator=torch.Generator().manual_seed(1)))
    if kind == "flip":
        assert abs(float(a.mean()) - float(b.mean())) < 0.05      # 3.2 sigma of the difference
    elif kind == "orientation":
        assert ks(a, b) < ks_critical(n, n)
        assert abs(float(a.std()) / float(b.std()) - 1) < 0.06
    else:
        # areas are pixel counts: one resampling rounds differently from two, so compare moments and quantiles
        assert abs(float(a.mean()) / float(b.mean()) - 1) < 0.015
        assert abs(float(a.std()) / float(b.std()) - 1) < 0.06
        q = torch.tensor([0.1, 0.5, 0.9])
        assert torch.allclose(torch.quantile(a, q), torch.quantile(b, q), rtol=0.03)


def _image_stats(out: torch.Tensor) -> dict[str, float]:
    per_image = out.mean((1, 2, 3))
    return {"mean": float(per_image.mean()), "spread": float(per_image.std()), "std": float(out.std((1, 2, 3)).mean()),
            "sharpness": float((out[..., 1:] - out[..., :-1]).abs().mean())}


def test_augmented_images_have_the_notebook_statistics_at_36px():
    x = images(512)
    torch.manual_seed(0)
    tf = notebook_transform()
    ref = torch.stack([tf(im) for im in x.float().div(255).expand(-1, 3, -1, -1)] * 2)
    g = torch.Generator().manual_seed(1)
    a = engine()
    out = torch.cat([a.train(x[i:i + 64], generator=g) for r in range(2) for i in range(0, 512, 64)])
    s_ref, s_out = _image_stats(ref), _image_stats(out)
    assert abs(s_ref["mean"] - s_out["mean"]) < 0.03            # normalised units; images span about 4
    for k in ("spread", "std", "sharpness"):
        assert abs(s_out[k] / s_ref[k] - 1) < 0.03, (k, s_ref, s_out)
    mean_img_ref, mean_img = ref.mean(0).flatten(), out.mean(0).flatten()
    assert float(torch.corrcoef(torch.stack([mean_img_ref, mean_img]))[0, 1]) > 0.995


@pytest.mark.parametrize("mode", ["fast", "exact"])
def test_augmented_images_have_the_notebook_statistics_at_224px(mode):
    x = images(128)
    torch.manual_seed(0)
    tf = notebook_transform(224)
    ref = torch.stack([tf(im) for im in x.float().div(255).expand(-1, 3, -1, -1)])
    g = torch.Generator().manual_seed(1)
    a = engine(resize=224, resize_mode=mode, edge_is_zero=True)
    out = torch.cat([a.train(x[i:i + 64], generator=g) for i in range(0, 128, 64)])
    assert out.shape == (128, 3, 224, 224)
    s_ref, s_out = _image_stats(ref), _image_stats(out)
    assert abs(s_ref["mean"] - s_out["mean"]) < 0.06             # n = 128: the spread of the mean is ~0.03
    assert abs(s_out["std"] / s_ref["std"] - 1) < 0.03
    # fast mode samples at 108 px and upsamples: measurably smoother, by a bounded amount
    assert -(0.12 if mode == "fast" else 0.03) < s_out["sharpness"] / s_ref["sharpness"] - 1 < 0.03
    assert float(torch.corrcoef(torch.stack([ref.mean(0).flatten(), out.mean(0).flatten()]))[0, 1]) > 0.99


def test_zero_border_shortcut_is_exact():
    """With an all-zero image border, zero padding equals edge clamping plus the fill: the shortcut is exact."""
    x = images(64)
    assert int(x[..., 0, :].sum() + x[..., -1, :].sum() + x[..., :, 0].sum() + x[..., :, -1].sum()) == 0
    p = engine(resize=224).sample_params(64, torch.Generator().manual_seed(4))
    a = engine(resize=224, edge_is_zero=False).train(x, params=p)
    b = engine(resize=224, edge_is_zero=True).train(x, params=p)
    assert torch.allclose(a, b, atol=1e-5)


def test_batches_are_reproducible_from_the_generator():
    x = images(32)
    a = engine().train(x, generator=torch.Generator().manual_seed(9))
    b = engine().train(x, generator=torch.Generator().manual_seed(9))
    c = engine().train(x, generator=torch.Generator().manual_seed(10))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_no_augmentation_is_the_test_transform():
    x = images(8)
    a = engine(ops=[], resize=None)
    assert torch.equal(a.train(x), a.eval(x))


def test_benchmark_script_runs_and_prints_one_json_object():
    """The benchmark is run on purpose (npm run bench:engine); this only keeps it from rotting: tiny settings,
    no timing thresholds."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "bench" / "engine_bench.py"
    p = subprocess.run([sys.executable, str(script), "--sizes", "36", "--no-steps", "--rounds", "1",
                        "--aug-batches", "2", "--warmup", "1"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    out = json.loads(p.stdout)
    aug = out["augmentation"]["36"]
    assert aug["notebook_images_per_s"] > 0 and aug["engine_images_per_s"] > 0 and aug["ratio"] > 0
    assert out["setup"]["batch_size"] == 64 and "augmentation_36" in out["met"]
