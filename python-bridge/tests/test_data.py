"""Data sources, validation messages, subsets, padding, channels, fingerprint and describe_dataset."""

from __future__ import annotations

import gzip
import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import FASHION_MNIST, needs_fashion_mnist, use_all_cores

from trainyard_worker.trainer.data import (FASHION_MNIST_CLASSES, DataError, describe_dataset, load_dataset,
                                           parse_idx)
from trainyard_worker.trainer.job import JobError, validate_data

use_all_cores()


def spec(**kw):
    base = {"pad_to": None}
    base.update(kw)
    return validate_data(base)


def write_tensors(root: Path, train_x, train_y, test_x, test_y) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, t in (("train_data", train_x), ("train_labels", train_y), ("test_data", test_x),
                    ("test_labels", test_y)):
        torch.save(t, root / f"{name}.pt")
    return root


# ---- tensor files (the notebook's layout) --------------------------------------------------------

def test_tensor_files_float_on_unit_scale_become_lossless_uint8(tmp_path):
    g = torch.Generator().manual_seed(0)
    q = torch.randint(0, 256, (20, 3, 36, 36), generator=g)
    x = q.float() / 255
    root = write_tensors(tmp_path / "t", x, torch.arange(20) % 10, x[:8], torch.arange(8) % 10)
    ds = load_dataset(spec(source="tensor-files", path=str(root)))
    assert ds.train.x.dtype == torch.uint8 and ds.pixel_scale == 1 / 255
    assert torch.equal(ds.train.x.float() / 255, x)  # bit-identical after the device-side conversion
    assert ds.class_names == [str(i) for i in range(10)]
    assert list(ds.train.x.shape) == [20, 3, 36, 36]


def test_tensor_files_arbitrary_float_kept_as_float_and_gray_nhw_accepted(tmp_path):
    x = torch.randn(10, 28, 28)  # (N, H, W), standardised values: used as they are
    root = write_tensors(tmp_path / "t", x, torch.zeros(10, dtype=torch.int64), x[:4], torch.ones(4, dtype=torch.int64))
    ds = load_dataset(spec(source="tensor-files", path=str(root), pad_to=36))
    assert ds.train.x.dtype == torch.float32 and ds.pixel_scale == 1.0
    assert list(ds.train.x.shape) == [10, 1, 36, 36] and ds.channels == 3  # replicated on the device
    assert torch.equal(ds.train.x[:, 0, 4:32, 4:32], x)


@pytest.mark.parametrize("make, message", [
    (lambda: (torch.rand(5, 36, 36, 3), torch.zeros(5)), "NHWC"),
    (lambda: (torch.rand(5, 2, 36, 36), torch.zeros(5)), "1 or 3 channels"),
    (lambda: (torch.rand(5), torch.zeros(5)), "expected images shaped"),
    (lambda: (torch.rand(5, 3, 8, 8), torch.zeros(4)), "5 images but "),
    (lambda: (torch.rand(5, 3, 8, 8), torch.tensor([0, 1, 2, 3, 12])), "label 12 is out of range for 10 classes"),
    (lambda: (torch.rand(5, 3, 8, 8), torch.tensor([0, 1, -1, 3, 2])), "negative label -1"),
    (lambda: (torch.rand(5, 3, 8, 8).index_put_((torch.tensor([3]),), torch.tensor(float("nan"))), torch.zeros(5)),
     "NaN or infinite values (first in sample 3)"),
    (lambda: (torch.rand(5, 3, 8, 8), torch.rand(5)), "whole numbers"),
    (lambda: (torch.full((5, 3, 8, 8), 300, dtype=torch.int32), torch.zeros(5)), "0..255"),
])
def test_bad_tensor_files_name_the_file_and_the_problem(tmp_path, make, message):
    x, y = make()
    ok_x, ok_y = torch.rand(4, 3, 8, 8), torch.zeros(4, dtype=torch.int64)
    root = write_tensors(tmp_path / "t", x, y, ok_x, ok_y)
    with pytest.raises(DataError) as e:
        load_dataset(spec(source="tensor-files", path=str(root)), num_classes=10)
    assert message in str(e.value)
    assert "train_" in str(e.value)
    if "label" in message or "whole" in message:
        assert "train_labels.pt" in str(e.value)


def test_truncated_and_missing_tensor_files(tmp_path):
    root = write_tensors(tmp_path / "t", torch.rand(4, 3, 8, 8), torch.zeros(4), torch.rand(4, 3, 8, 8), torch.zeros(4))
    (root / "test_data.pt").write_bytes((root / "test_data.pt").read_bytes()[:100])
    with pytest.raises(DataError, match=r"test_data\.pt: not a readable torch tensor file"):
        load_dataset(spec(source="tensor-files", path=str(root)))
    (root / "test_labels.pt").unlink()
    with pytest.raises(DataError, match="missing test_labels.pt"):
        load_dataset(spec(source="tensor-files", path=str(root)))
    with pytest.raises(DataError, match="not a folder"):
        load_dataset(spec(source="tensor-files", path=str(tmp_path / "nowhere")))


def test_train_and_test_shapes_must_agree(tmp_path):
    root = write_tensors(tmp_path / "t", torch.rand(4, 3, 8, 8), torch.zeros(4), torch.rand(4, 3, 9, 9), torch.zeros(4))
    with pytest.raises(DataError, match=r"shape \[3, 8, 8\].*\[3, 9, 9\]"):
        load_dataset(spec(source="tensor-files", path=str(root)))


# ---- Fashion-MNIST idx ---------------------------------------------------------------------------

def idx_bytes(arr: np.ndarray) -> bytes:
    return bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.astype(np.uint8).tobytes()


def write_idx_folder(root: Path, n_train=12, n_test=6, gz=True, size=28) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        for kind, arr in (("images-idx3", rng.integers(0, 256, (n, size, size))), ("labels-idx1", np.arange(n) % 10)):
            data = idx_bytes(np.asarray(arr))
            name = f"{prefix}-{kind}-ubyte"
            if gz:
                (root / f"{name}.gz").write_bytes(gzip.compress(data))
            else:
                (root / name).write_bytes(data)
    return root


def test_idx_folder_gz_and_plain(tmp_path):
    for gz in (True, False):
        root = write_idx_folder(tmp_path / f"f{gz}", gz=gz)
        ds = load_dataset(spec(source="fashion-mnist", path=str(root), pad_to=36))
        assert list(ds.train.x.shape) == [12, 1, 36, 36] and ds.channels == 3
        assert ds.class_names == FASHION_MNIST_CLASSES
        assert int(ds.train.x[:, :, :4].abs().sum()) == 0  # zero padding, centred: 4 px each side


def test_idx_truncation_and_corruption_name_the_file(tmp_path):
    root = write_idx_folder(tmp_path / "f")
    img = root / "train-images-idx3-ubyte.gz"
    data = gzip.decompress(img.read_bytes())
    img.write_bytes(gzip.compress(data[:-50]))
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: truncated"):
        load_dataset(spec(source="fashion-mnist", path=str(root)))
    img.write_bytes(gzip.compress(data)[:-30])  # the gzip stream itself cut short
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: truncated or corrupt gzip"):
        load_dataset(spec(source="fashion-mnist", path=str(root)))
    img.write_bytes(gzip.compress(b"\x01\x02\x03\x04" + data[4:]))
    with pytest.raises(DataError, match="bad magic"):
        load_dataset(spec(source="fashion-mnist", path=str(root)))
    img.write_bytes(gzip.compress(data))
    lab = root / "t10k-labels-idx1-ubyte.gz"
    lab.write_bytes(gzip.compress(idx_bytes(np.arange(5) % 10)))
    with pytest.raises(DataError, match=r"6 images but .*t10k-labels-idx1-ubyte\.gz has 5 labels"):
        load_dataset(spec(source="fashion-mnist", path=str(root)))


def test_parse_idx_rejects_extra_bytes():
    with pytest.raises(DataError, match="unexpected bytes"):
        parse_idx(idx_bytes(np.zeros((2, 2), dtype=np.uint8)) + b"xx", "f")


def test_pad_to_smaller_than_images_is_an_error(tmp_path):
    root = write_idx_folder(tmp_path / "f")
    with pytest.raises(DataError, match="pad_to 20 is smaller than the images"):
        load_dataset(spec(source="fashion-mnist", path=str(root), pad_to=20))


@needs_fashion_mnist
def test_real_fashion_mnist_subset_and_fingerprint():
    s = spec(source="fashion-mnist", train_subset=500, test_subset=200, pad_to=36)
    ds = load_dataset(s, num_classes=10)
    assert (len(ds.train.y), len(ds.test.y)) == (500, 200)
    assert ds.train.x.dtype == torch.uint8 and list(ds.train.x.shape[1:]) == [1, 36, 36]
    assert len(set(ds.train.y.tolist())) == 10  # a random subset, not the first N of one class
    assert torch.all(ds.test.index[1:] > ds.test.index[:-1])  # source order kept; indexes into the source split
    again = load_dataset(s)
    assert again.fingerprint == ds.fingerprint and torch.equal(again.train.index, ds.train.index)
    other = load_dataset(spec(source="fashion-mnist", train_subset=501, test_subset=200))
    assert other.fingerprint != ds.fingerprint
    assert ds.fingerprint.startswith("sha256:") and len(ds.fingerprint) == 71


# ---- CIFAR-10 python folder ------------------------------------------------------------------------

def write_cifar(root: Path, n=6, labels_short=False) -> Path:
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        labels = [int(v) for v in rng.integers(0, 10, n)]
        if labels_short and name == "data_batch_3":
            labels = labels[:-1]
        with open(d / name, "wb") as f:
            pickle.dump({b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": labels,
                         b"batch_label": name.encode()}, f)
    with open(d / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [f"c{i}".encode() for i in range(10)]}, f)
    return root


def test_cifar10_folder(tmp_path):
    root = write_cifar(tmp_path / "c")
    ds = load_dataset(spec(source="cifar10", path=str(root)))
    assert list(ds.train.x.shape) == [30, 3, 32, 32] and list(ds.test.x.shape) == [6, 3, 32, 32]
    assert ds.class_names == [f"c{i}" for i in range(10)]
    with open(root / "cifar-10-batches-py" / "data_batch_1", "rb") as f:
        raw = pickle.load(f, encoding="bytes")
    assert torch.equal(ds.train.x[0], torch.from_numpy(raw[b"data"][0].reshape(3, 32, 32)))


def test_cifar10_errors_name_the_batch_file(tmp_path):
    root = write_cifar(tmp_path / "c", labels_short=True)
    with pytest.raises(DataError, match=r"data_batch_3: 6 images but 5 labels"):
        load_dataset(spec(source="cifar10", path=str(root)))
    root = write_cifar(tmp_path / "d")
    b = root / "cifar-10-batches-py" / "test_batch"
    b.write_bytes(b.read_bytes()[:200])
    with pytest.raises(DataError, match=r"test_batch: not a readable CIFAR-10 batch"):
        load_dataset(spec(source="cifar10", path=str(root)))
    (root / "cifar-10-batches-py" / "data_batch_5").unlink()
    with pytest.raises(DataError, match="missing data_batch_5"):
        load_dataset(spec(source="cifar10", path=str(root)))


def test_cifar10_pickles_cannot_run_code(tmp_path):
    root = write_cifar(tmp_path / "c")

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with open(root / "cifar-10-batches-py" / "data_batch_2", "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": []}, f)
    with pytest.raises(DataError, match="refusing to load builtins.print"):
        load_dataset(spec(source="cifar10", path=str(root)))


# ---- image folder --------------------------------------------------------------------------------

def write_png_folder(root: Path, classes=("cat", "dog"), per_class=5, size=(12, 12), split=True, odd: str | None = None):
    from torchvision.io import write_png

    g = torch.Generator().manual_seed(2)
    for part in (("train", "test") if split else ("",)):
        for c in classes:
            d = root / part / c if part else root / c
            d.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                hw = (size[0] + 1, size[1]) if odd == f"{c}/{i}" else size
                write_png(torch.randint(0, 256, (3, *hw), dtype=torch.uint8, generator=g), str(d / f"{i:03d}.png"))
    return root


def test_image_folder_with_and_without_splits(tmp_path):
    ds = load_dataset(spec(source="image-folder", path=str(write_png_folder(tmp_path / "a"))))
    assert ds.class_names == ["cat", "dog"] and list(ds.train.x.shape) == [10, 3, 12, 12]
    assert sorted(ds.train.y.tolist()) == [0] * 5 + [1] * 5
    ds = load_dataset(spec(source="image-folder", path=str(write_png_folder(tmp_path / "b", split=False)), channels=1,
                           normalize={"mean": [0.5], "std": [0.25]}))
    assert (len(ds.train.y), len(ds.test.y)) == (8, 2)  # every fifth file of each class held out
    assert ds.stored_channels == 1


def test_image_folder_size_mismatch_names_the_file(tmp_path):
    root = write_png_folder(tmp_path / "a", odd="dog/3")
    with pytest.raises(DataError, match=r"dog/003\.png: image is 13x12 but the folder's first image is 12x12"):
        load_dataset(spec(source="image-folder", path=str(root)))


def test_image_folder_corrupt_image_names_the_file(tmp_path):
    root = write_png_folder(tmp_path / "a")
    (root / "test" / "cat" / "002.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    with pytest.raises(DataError, match=r"cat/002\.png: cannot decode"):
        load_dataset(spec(source="image-folder", path=str(root)))


# ---- synthetic, channels, describe -------------------------------------------------------------------

def test_synthetic_is_seeded():
    s = spec(source="synthetic", synthetic={"train_size": 30, "test_size": 10, "image_size": 8, "num_classes": 3})
    a, b = load_dataset(s), load_dataset(s)
    assert torch.equal(a.train.x, b.train.x) and a.fingerprint == b.fingerprint
    c = load_dataset(spec(source="synthetic", synthetic={"train_size": 30, "test_size": 10, "image_size": 8,
                                                          "num_classes": 3, "seed": 9}))
    assert c.fingerprint != a.fingerprint


def test_rgb_to_one_channel_uses_luma(tmp_path):
    x = torch.zeros(2, 3, 4, 4, dtype=torch.uint8)
    x[:, 0] = 255
    root = write_tensors(tmp_path / "t", x, torch.zeros(2), x, torch.zeros(2))
    ds = load_dataset(spec(source="tensor-files", path=str(root), channels=1, normalize=None))
    assert ds.train.x.shape[1] == 1 and int(ds.train.x[0, 0, 0, 0]) == 76  # round(0.2989 * 255)


def test_describe_dataset_reports_or_explains(tmp_path):
    root = write_idx_folder(tmp_path / "f")
    d = describe_dataset({"source": "fashion-mnist", "path": str(root), "resize": 224})
    json.dumps(d)
    assert d["readable"] and d["error"] is None
    assert (d["train_size"], d["test_size"], d["num_classes"]) == (12, 6, 10)
    assert d["shape"] == [3, 36, 36] and d["input_shape"] == [3, 224, 224] and d["dtype"] == "uint8"
    assert d["classes"][0] == "T-shirt/top" and d["fingerprint"].startswith("sha256:")
    bad = describe_dataset({"source": "fashion-mnist", "path": str(tmp_path / "missing")})
    assert not bad["readable"] and "not a folder" in bad["error"] and bad["path"] == str(tmp_path / "missing")
    assert "data.source" in describe_dataset({"source": "mnist"})["error"]
    assert "data must be an object" in describe_dataset("nope")["error"]  # type: ignore[arg-type]


def test_data_spec_validation_names_fields():
    with pytest.raises(JobError, match=r"data\.train_subset"):
        validate_data({"train_subset": 0})
    with pytest.raises(JobError, match=r"data\.augment\[1\]\.op"):
        validate_data({"augment": [{"op": "hflip"}, {"op": "blur"}]})
    with pytest.raises(JobError, match=r"data\.normalize\.std\[0\]"):
        validate_data({"normalize": {"mean": [0.5], "std": [0]}})
    with pytest.raises(JobError, match=r"data\.channels"):
        validate_data({"channels": 2})
    with pytest.raises(JobError, match=r"data\.normalize\.mean must be a list of 1 number for data.channels 1"):
        validate_data({"channels": 1})
    assert validate_data({})["path"] is None


@needs_fashion_mnist
def test_default_fashion_mnist_path():
    d = describe_dataset({"source": "fashion-mnist", "train_subset": 10, "test_subset": 10})
    assert d["readable"] and d["path"] == str(FASHION_MNIST)
