"""Data sources for the trainer: loading, validation, subsets, class names and a dataset fingerprint.

Every source ends as four tensors on the CPU: images (N, C, H, W) kept as uint8 whenever that is lossless
(4x less memory than float32, converted on the training device per batch) and labels (N,) int64. Padding
(pad_to) and the channel count happen here; normalisation, resize and augmentation happen on the training
device (augment.py). Grayscale images that are to be fed as RGB (channels=3) are stored with one channel
and replicated on the device after augmentation: same result, a third of the memory and of the resampling.

Bad data fails fast with DataError naming the file and the problem.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .job import DEFAULT_FASHION_MNIST_PATH, JobError, validate_data

FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                         "Bag", "Ankle boot"]
TENSOR_FILES = ("train_data.pt", "train_labels.pt", "test_data.pt", "test_labels.pt")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
SUBSET_SEED = 0  # one fixed subset per dataset, whatever the run's seed, so runs of a study are comparable


class DataError(ValueError):
    """The data cannot be used; the message names the file (or folder) and the problem."""


@dataclass
class Split:
    x: torch.Tensor            # (N, C, H, W) uint8 (0..255) or float32 (used as is)
    y: torch.Tensor            # (N,) int64
    index: torch.Tensor        # (N,) int64: each sample's index in the source split (subsets keep a selection)
    name: str                  # the file or folder the images came from, for messages
    label_name: str = ""       # the labels' file when it is another one

    @property
    def labels_from(self) -> str:
        return self.label_name or self.name


@dataclass
class Dataset:
    source: str
    path: str | None
    train: Split
    test: Split
    class_names: list[str]
    fingerprint: str
    channels: int              # channels the model sees (images are replicated on the device when > stored)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def stored_channels(self) -> int:
        return int(self.train.x.shape[1])

    @property
    def image_size(self) -> tuple[int, int]:
        return int(self.train.x.shape[2]), int(self.train.x.shape[3])

    @property
    def pixel_scale(self) -> float:
        """Factor that brings stored values to the [0, 1] scale the normalisation statistics assume."""
        return 1.0 / 255.0 if self.train.x.dtype == torch.uint8 else 1.0


# ---- public entry points -----------------------------------------------------------------------

def load_dataset(data_spec: dict[str, Any], num_classes: int | None = None) -> Dataset:
    """Load, validate, subset, pad and fingerprint the dataset described by a (validated) DataSpec."""
    source = data_spec["source"]
    path = resolve_path(data_spec)
    if source == "tensor-files":
        raw = _load_tensor_files(Path(path))
    elif source == "fashion-mnist":
        raw = _load_fashion_mnist(Path(path))
    elif source == "cifar10":
        raw = _load_cifar10(Path(path))
    elif source == "image-folder":
        raw = _load_image_folder(Path(path), data_spec["channels"])
    elif source == "synthetic":
        raw = _make_synthetic(data_spec["synthetic"], data_spec["channels"])
    else:  # validate_data rejects it first; kept for direct callers
        raise DataError(f"unknown data source {source!r}")
    train, test, names = raw
    for s in (train, test):
        _check_split(s, num_classes)
    if train.x.shape[1:] != test.x.shape[1:]:
        raise DataError(f"{train.name} holds images of shape {list(train.x.shape[1:])} but {test.name} holds "
                        f"{list(test.x.shape[1:])}")
    train = _subset(train, data_spec.get("train_subset"))
    test = _subset(test, data_spec.get("test_subset"))
    k = max(int(train.y.max()) + 1, int(test.y.max()) + 1, len(names or []), num_classes or 0)
    class_names = list(names) if names and len(names) >= k else [*(names or []), *map(str, range(len(names or []), k))]
    fp = fingerprint(train, test)
    train, test = (_pad(s, data_spec.get("pad_to")) for s in (train, test))
    train, test = (_to_channels(s, data_spec["channels"]) for s in (train, test))
    return Dataset(source=source, path=path, train=train, test=test, class_names=class_names, fingerprint=fp,
                   channels=data_spec["channels"])


def describe_dataset(data_spec: dict[str, Any]) -> dict[str, Any]:
    """What the orchestrator shows before a run: {source, path, readable, train_size, test_size, shape,
    input_shape, dtype, classes, num_classes, fingerprint, error}. Never raises; JSON-serialisable."""
    out: dict[str, Any] = {"source": None, "path": None, "readable": False, "train_size": None, "test_size": None,
                           "shape": None, "input_shape": None, "dtype": None, "classes": None, "num_classes": None,
                           "fingerprint": None, "error": None}
    try:
        if not isinstance(data_spec, dict):
            raise JobError(f"data must be an object, got {type(data_spec).__name__}")
        spec = validate_data(data_spec, "data")
        out["source"] = spec["source"]
        out["path"] = resolve_path(spec)
        ds = load_dataset(spec)
    except (JobError, DataError) as e:
        out["error"] = str(e)
        return out
    h, w = ds.image_size
    r = spec.get("resize")
    out.update(readable=True, train_size=len(ds.train.y), test_size=len(ds.test.y), shape=[ds.channels, h, w],
               input_shape=[ds.channels, r or h, r or w], dtype=str(ds.train.x.dtype).replace("torch.", ""),
               classes=ds.class_names, num_classes=len(ds.class_names), fingerprint=ds.fingerprint)
    return out


def resolve_path(data_spec: dict[str, Any]) -> str | None:
    source, path = data_spec["source"], data_spec.get("path")
    if source == "synthetic":
        return None
    if path is None:
        if source == "fashion-mnist":
            return DEFAULT_FASHION_MNIST_PATH
        raise DataError(f"data.path is required for source {source!r}")
    return os.path.expanduser(path)


def fingerprint(train: Split, test: Split) -> str:
    """sha256 over both splits' shapes, dtypes, image bytes and label bytes (after subsetting, before padding)."""
    h = hashlib.sha256()
    for s in (train, test):
        h.update(f"{list(s.x.shape)}|{s.x.dtype}|{list(s.y.shape)}|".encode())
        h.update(memoryview(s.x.contiguous().numpy()).cast("B"))
        h.update(memoryview(s.y.contiguous().numpy()).cast("B"))
    return "sha256:" + h.hexdigest()


# ---- validation and shaping ----------------------------------------------------------------------

def _images(t: Any, name: str) -> torch.Tensor:
    """Images as (N, C, H, W) with C in {1, 3}: uint8 kept, other integers checked to 0..255, floats float32."""
    if isinstance(t, np.ndarray):
        t = torch.from_numpy(np.ascontiguousarray(t))
    if not isinstance(t, torch.Tensor):
        raise DataError(f"{name}: expected a tensor of images, found {type(t).__name__}")
    if t.dim() == 3:
        t = t.unsqueeze(1)
    if t.dim() != 4:
        raise DataError(f"{name}: expected images shaped (N, C, H, W) or (N, H, W), got {list(t.shape)}")
    if t.shape[1] not in (1, 3):
        hint = " (it looks like NHWC; store NCHW)" if t.shape[3] in (1, 3) else ""
        raise DataError(f"{name}: expected 1 or 3 channels in dimension 1 of (N, C, H, W), got shape "
                        f"{list(t.shape)}{hint}")
    if t.shape[0] == 0 or t.shape[2] == 0 or t.shape[3] == 0:
        raise DataError(f"{name}: no images (shape {list(t.shape)})")
    if t.dtype == torch.uint8:
        return t.contiguous()
    if t.is_floating_point():
        t = t.float()
        bad = ~torch.isfinite(t)
        if bool(bad.any()):
            first = int(bad.flatten(1).any(1).nonzero()[0])
            raise DataError(f"{name}: contains NaN or infinite values (first in sample {first})")
        return _lossless_uint8(t)
    if t.dtype in (torch.int8, torch.int16, torch.int32, torch.int64):
        lo, hi = int(t.min()), int(t.max())
        if lo < 0 or hi > 255:
            raise DataError(f"{name}: integer images must lie in 0..255, found {lo}..{hi}")
        return t.to(torch.uint8).contiguous()
    raise DataError(f"{name}: unsupported image dtype {t.dtype}")


def _lossless_uint8(t: torch.Tensor) -> torch.Tensor:
    """Float images on the [0, 1] scale that are exact multiples of 1/255 become uint8 (bit-identical after /255)."""
    if float(t.min()) < 0 or float(t.max()) > 1:
        return t.contiguous()
    q = torch.round(t * 255)
    if float((q / 255 - t).abs().max()) > 1e-6:
        return t.contiguous()
    return q.to(torch.uint8).contiguous()


def _labels(t: Any, name: str) -> torch.Tensor:
    if isinstance(t, (list, tuple)):
        t = torch.tensor(t)
    if isinstance(t, np.ndarray):
        t = torch.from_numpy(np.ascontiguousarray(t))
    if not isinstance(t, torch.Tensor):
        raise DataError(f"{name}: expected a tensor of labels, found {type(t).__name__}")
    if t.dim() == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if t.dim() != 1:
        raise DataError(f"{name}: expected labels shaped (N,), got {list(t.shape)}")
    if t.is_floating_point():
        if not bool(torch.isfinite(t).all()) or not bool((t == t.round()).all()):
            raise DataError(f"{name}: labels must be whole numbers (found NaN or fractions)")
    elif t.dtype == torch.bool or t.is_complex():
        raise DataError(f"{name}: unsupported label dtype {t.dtype}")
    return t.to(torch.int64).contiguous()


def _check_split(s: Split, num_classes: int | None) -> None:
    n, m = int(s.x.shape[0]), int(s.y.shape[0])
    if n != m:
        other = f"{s.label_name} has " if s.label_name and s.label_name != s.name else ""
        raise DataError(f"{s.name}: {n} images but {other}{m} labels")
    if n == 0:
        raise DataError(f"{s.name}: the split is empty")
    lo, hi = int(s.y.min()), int(s.y.max())
    if lo < 0:
        raise DataError(f"{s.labels_from}: negative label {lo} (sample {int((s.y < 0).nonzero()[0])})")
    if num_classes is not None and hi >= num_classes:
        first = int((s.y >= num_classes).nonzero()[0])
        raise DataError(f"{s.labels_from}: label {hi} is out of range for {num_classes} classes "
                        f"(first at sample {first})")


def _subset(s: Split, n: int | None) -> Split:
    if n is None or n >= len(s.y):
        return s
    g = torch.Generator().manual_seed(SUBSET_SEED)
    keep = torch.randperm(len(s.y), generator=g)[:n].sort().values
    return Split(s.x[keep].contiguous(), s.y[keep].contiguous(), s.index[keep].contiguous(), s.name, s.label_name)


def _pad(s: Split, pad_to: int | None) -> Split:
    if pad_to is None:
        return s
    h, w = int(s.x.shape[2]), int(s.x.shape[3])
    if pad_to < h or pad_to < w:
        raise DataError(f"{s.name}: pad_to {pad_to} is smaller than the images ({h}x{w})")
    if pad_to == h == w:
        return s
    top, left = (pad_to - h) // 2, (pad_to - w) // 2
    x = torch.zeros((s.x.shape[0], s.x.shape[1], pad_to, pad_to), dtype=s.x.dtype)
    x[:, :, top:top + h, left:left + w] = s.x
    return Split(x, s.y, s.index, s.name, s.label_name)


def _to_channels(s: Split, channels: int) -> Split:
    c = int(s.x.shape[1])
    if c == channels or (c == 1 and channels == 3):  # 1 -> 3 is replicated on the device, after augmentation
        return s
    # 3 -> 1: ITU-R 601-2 luma, as torchvision's rgb_to_grayscale
    w = torch.tensor([0.2989, 0.587, 0.114]).view(1, 3, 1, 1)
    g = (s.x.float() * w).sum(1, keepdim=True)
    x = g.round().clamp(0, 255).to(torch.uint8) if s.x.dtype == torch.uint8 else g
    return Split(x.contiguous(), s.y, s.index, s.name, s.label_name)


def _split(x: torch.Tensor, y: torch.Tensor, name: str, label_name: str = "") -> Split:
    return Split(x, y, torch.arange(len(y), dtype=torch.int64), name, label_name)


# ---- sources -------------------------------------------------------------------------------------

def _torch_load(path: Path) -> Any:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        try:
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except TypeError:  # torch < 1.13 has no weights_only
            return torch.load(io.BytesIO(data), map_location="cpu")
    except Exception as e:  # noqa: BLE001 - torch raises many types for damaged files
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"{path}: not a readable torch tensor file (truncated or corrupt?): {msg}") from None


def _load_tensor_files(root: Path) -> tuple[Split, Split, list[str] | None]:
    if not root.is_dir():
        raise DataError(f"{root}: not a folder (tensor-files needs {', '.join(TENSOR_FILES)})")
    missing = [f for f in TENSOR_FILES if not (root / f).is_file()]
    if missing:
        raise DataError(f"{root}: missing {', '.join(missing)}")
    out = []
    for split in ("train", "test"):
        xf, yf = root / f"{split}_data.pt", root / f"{split}_labels.pt"
        out.append(_split(_images(_torch_load(xf), str(xf)), _labels(_torch_load(yf), str(yf)), str(xf), str(yf)))
    names = None
    for cand in ("classes.txt", "class_names.txt"):
        if (root / cand).is_file():
            names = [ln.strip() for ln in (root / cand).read_text("utf-8", errors="replace").splitlines() if ln.strip()]
    return out[0], out[1], names


def _read_maybe_gz(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (EOFError, OSError, gzip.BadGzipFile) as e:
            raise DataError(f"{path}: truncated or corrupt gzip data ({e})") from None
    return data


def parse_idx(data: bytes, name: str) -> np.ndarray:
    """IDX (the MNIST format): 2 zero bytes, a type byte (0x08 = uint8), the rank, big-endian dims, data."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(f"{name}: not an IDX file (bad magic number)")
    if data[2] != 0x08:
        raise DataError(f"{name}: IDX element type 0x{data[2]:02x} is not supported (only 0x08 = uint8)")
    rank = data[3]
    if rank < 1 or rank > 4 or len(data) < 4 + 4 * rank:
        raise DataError(f"{name}: IDX header is truncated or has rank {rank}")
    dims = struct.unpack(f">{rank}I", data[4:4 + 4 * rank])
    need = int(np.prod(dims, dtype=np.int64))
    have = len(data) - 4 - 4 * rank
    if have < need:
        raise DataError(f"{name}: truncated: header says {list(dims)} ({need} bytes of data) but only {have} follow")
    if have > need:
        raise DataError(f"{name}: {have - need} unexpected bytes after the {list(dims)} data")
    return np.frombuffer(data, dtype=np.uint8, count=need, offset=4 + 4 * rank).reshape(dims)


def _find(root: Path, stem: str) -> Path:
    for cand in (root / stem, root / f"{stem}.gz"):
        if cand.is_file():
            return cand
    raise DataError(f"{root}: missing {stem}(.gz)")


def _load_fashion_mnist(root: Path) -> tuple[Split, Split, list[str]]:
    if not root.is_dir():
        raise DataError(f"{root}: not a folder (Fashion-MNIST idx files expected; Debian installs them with the "
                        f"dataset-fashion-mnist package under {DEFAULT_FASHION_MNIST_PATH})")
    out = []
    for prefix in ("train", "t10k"):
        xf, yf = _find(root, f"{prefix}-images-idx3-ubyte"), _find(root, f"{prefix}-labels-idx1-ubyte")
        x = parse_idx(_read_maybe_gz(xf), str(xf))
        y = parse_idx(_read_maybe_gz(yf), str(yf))
        if x.ndim != 3:
            raise DataError(f"{xf}: expected 3 dimensions (N, H, W), got {list(x.shape)}")
        if y.ndim != 1:
            raise DataError(f"{yf}: expected 1 dimension (N,), got {list(y.shape)}")
        if x.shape[0] != y.shape[0]:
            raise DataError(f"{xf} has {x.shape[0]} images but {yf} has {y.shape[0]} labels")
        out.append(_split(torch.from_numpy(x.copy()).unsqueeze(1), torch.from_numpy(y.astype(np.int64)), str(xf),
                          str(yf)))
    return out[0], out[1], list(FASHION_MNIST_CLASSES)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """CIFAR-10's python batches are pickles; allow only what they contain (numpy arrays), never code."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _unpickle(path: Path) -> dict[Any, Any]:
    try:
        with open(path, "rb") as f:
            obj = _NumpyOnlyUnpickler(f, encoding="latin1").load()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    except Exception as e:  # noqa: BLE001 - EOFError, UnpicklingError, ... for damaged files
        raise DataError(f"{path}: not a readable CIFAR-10 batch (truncated or corrupt?): {e}") from None
    if not isinstance(obj, dict):
        raise DataError(f"{path}: expected a dict, found {type(obj).__name__}")
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in obj.items()}


def _load_cifar10(root: Path) -> tuple[Split, Split, list[str] | None]:
    if (root / "cifar-10-batches-py").is_dir():
        root = root / "cifar-10-batches-py"
    if not root.is_dir():
        raise DataError(f"{root}: not a folder (expected CIFAR-10's cifar-10-batches-py layout)")
    files = {"train": [root / f"data_batch_{i}" for i in range(1, 6)], "test": [root / "test_batch"]}
    missing = [p.name for ps in files.values() for p in ps if not p.is_file()]
    if missing:
        raise DataError(f"{root}: missing {', '.join(missing)} (CIFAR-10 python layout)")
    out = []
    for split, paths in files.items():
        xs, ys = [], []
        for p in paths:
            b = _unpickle(p)
            data, labels = b.get("data"), b.get("labels")
            if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
                shape = list(data.shape) if isinstance(data, np.ndarray) else type(data).__name__
                raise DataError(f"{p}: 'data' must be a uint8 array of shape (N, 3072), got {shape}")
            if not isinstance(labels, list) or len(labels) != data.shape[0]:
                n = len(labels) if isinstance(labels, list) else type(labels).__name__
                raise DataError(f"{p}: {data.shape[0]} images but {n} labels")
            xs.append(data.reshape(-1, 3, 32, 32))
            ys.extend(labels)
        out.append(_split(torch.from_numpy(np.concatenate(xs)), _labels(ys, str(paths[0])), str(paths[0])))
    names = None
    meta = root / "batches.meta"
    if meta.is_file():
        m = _unpickle(meta)
        ln = m.get("label_names")
        if isinstance(ln, list):
            names = [x.decode() if isinstance(x, bytes) else str(x) for x in ln]
    return out[0], out[1], names


def _read_image(path: Path, channels: int) -> torch.Tensor:
    try:
        from torchvision.io import ImageReadMode, read_image  # noqa: PLC0415
        mode = ImageReadMode.GRAY if channels == 1 else ImageReadMode.RGB
        return read_image(str(path), mode)
    except Exception:  # noqa: BLE001 - format not supported by torchvision's decoder: try PIL
        pass
    try:
        from PIL import Image  # noqa: PLC0415
        with Image.open(path) as im:
            arr = np.asarray(im.convert("L" if channels == 1 else "RGB"))
    except ImportError:
        raise DataError(f"{path}: cannot decode (torchvision could not, and PIL is not installed)") from None
    except Exception as e:  # noqa: BLE001
        raise DataError(f"{path}: cannot decode the image ({e})") from None
    t = torch.from_numpy(arr.copy())
    return t.unsqueeze(0) if t.dim() == 2 else t.permute(2, 0, 1).contiguous()


def _image_split(root: Path, classes: list[str], channels: int, files: list[tuple[Path, int]]) -> Split:
    if not files:
        raise DataError(f"{root}: no images ({', '.join(IMAGE_EXTENSIONS)}) in the class folders")
    images, labels = [], []
    size: tuple[int, int] | None = None
    for p, label in files:
        im = _read_image(p, channels)
        if size is None:
            size = (int(im.shape[1]), int(im.shape[2]))
        elif (im.shape[1], im.shape[2]) != size:
            raise DataError(f"{p}: image is {im.shape[1]}x{im.shape[2]} but the folder's first image is "
                            f"{size[0]}x{size[1]}; all images must share one size")
        images.append(im)
        labels.append(label)
    return _split(torch.stack(images), torch.tensor(labels, dtype=torch.int64), str(root))


def _class_files(root: Path, classes: list[str]) -> list[tuple[Path, int]]:
    out = []
    for i, c in enumerate(classes):
        d = root / c
        if d.is_dir():
            out += [(p, i) for p in sorted(d.iterdir()) if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()]
    return out


def _load_image_folder(root: Path, channels: int) -> tuple[Split, Split, list[str]]:
    """root/train/<class>/* and root/test/<class>/* (or val/); without those, root/<class>/* with every
    fifth file of each class (sorted by name) held out as the test split."""
    if not root.is_dir():
        raise DataError(f"{root}: not a folder (image-folder expects one subfolder per class)")
    test_dir = next((root / d for d in ("test", "val") if (root / d).is_dir()), None)
    if (root / "train").is_dir() and test_dir is not None:
        classes = sorted(d.name for d in (root / "train").iterdir() if d.is_dir())
        if not classes:
            raise DataError(f"{root / 'train'}: no class subfolders")
        extra = sorted(d.name for d in test_dir.iterdir() if d.is_dir() and d.name not in classes)
        if extra:
            raise DataError(f"{test_dir}: class folders {extra} do not exist under {root / 'train'}")
        train = _image_split(root / "train", classes, channels, _class_files(root / "train", classes))
        test = _image_split(test_dir, classes, channels, _class_files(test_dir, classes))
        return train, test, classes
    classes = sorted(d.name for d in root.iterdir() if d.is_dir())
    if not classes:
        raise DataError(f"{root}: no class subfolders (expected root/<class>/image files, or train/ and test/)")
    files = _class_files(root, classes)
    held: list[tuple[Path, int]] = []
    by_class: dict[int, list[tuple[Path, int]]] = {}
    for f in files:
        by_class.setdefault(f[1], []).append(f)
    train_files: list[tuple[Path, int]] = []
    for fs in by_class.values():
        for j, f in enumerate(fs):
            (held if j % 5 == 4 else train_files).append(f)
    return (_image_split(root, classes, channels, train_files),
            _image_split(root, classes, channels, held), classes)


def _make_synthetic(s: dict[str, Any], channels: int) -> tuple[Split, Split, list[str]]:
    """Seeded, learnable images: each class is a smooth random pattern; samples add noise and brightness."""
    g = torch.Generator().manual_seed(int(s.get("seed", 0)))
    k, size = int(s["num_classes"]), int(s["image_size"])
    protos = torch.rand((k, channels, 4, 4), generator=g)
    protos = torch.nn.functional.interpolate(protos, size=(size, size), mode="bilinear", align_corners=False)
    out = []
    for n in (int(s["train_size"]), int(s["test_size"])):
        y = torch.randint(0, k, (n,), generator=g)
        gain = 0.7 + 0.6 * torch.rand((n, 1, 1, 1), generator=g)
        x = protos[y] * gain + 0.15 * torch.randn((n, channels, size, size), generator=g)
        out.append(_split((x.clamp(0, 1) * 255).round().to(torch.uint8), y, "synthetic"))
    return out[0], out[1], [f"class{i}" for i in range(k)]
