"""Model variants of the notebook: shapes, conv1/maxpool replacement, pretrained weights offline."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn as nn
from conftest import use_all_cores
from torchvision.models import resnet18

from trainyard_worker.trainer.job import validate_model
from trainyard_worker.trainer.model import (WeightsError, WeightsUnavailable, build_model, count_params,
                                            default_weights_path, resolve_weights)

use_all_cores()


def spec(**kw):
    return validate_model(kw)


@pytest.mark.parametrize("variant, size, before_pool", [
    ({}, 36, (512, 2, 2)),                                                   # the notebook's baseline
    ({"conv1": {"kernel": 7, "stride": 1, "padding": 3}}, 36, (512, 3, 3)),  # modified_1
    ({"conv1": {"kernel": 5, "stride": 1, "padding": 2}}, 36, (512, 3, 3)),  # modified_2
    ({"maxpool": False}, 36, (512, 3, 3)),                                   # modified_3
    ({}, 224, (512, 7, 7)),                                                  # resized to 224
])
def test_variant_shapes(variant, size, before_pool):
    m = build_model(spec(**variant)).eval()
    seen = {}
    m.avgpool.register_forward_hook(lambda mod, i, o: seen.update(shape=tuple(i[0].shape[1:])))
    with torch.no_grad():
        out = m(torch.zeros(2, 3, size, size))
    assert out.shape == (2, 10)
    assert seen["shape"] == before_pool


def test_conv1_and_maxpool_replacement_match_the_notebook():
    m = build_model(spec(conv1={"kernel": 5, "stride": 1, "padding": 2}, maxpool=False))
    assert isinstance(m.conv1, nn.Conv2d)
    assert (m.conv1.kernel_size, m.conv1.stride, m.conv1.padding) == ((5, 5), (1, 1), (2, 2))
    assert m.conv1.bias is None
    assert isinstance(m.maxpool, nn.Identity)
    assert m.fc.out_features == 10
    ref = resnet18(num_classes=10)
    ref.conv1 = nn.Conv2d(3, 64, kernel_size=5, stride=1, padding=2, bias=False)
    assert count_params(m) == count_params(ref)


def test_standard_resnet18_has_the_notebook_parameter_count():
    assert count_params(build_model(spec(num_classes=1000))) == 11_689_512


def test_seeded_init_is_reproducible():
    torch.manual_seed(4)
    a = build_model(spec())
    torch.manual_seed(4)
    b = build_model(spec())
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_missing_default_weights_name_the_file_and_where(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    expected = default_weights_path()
    assert str(expected).startswith(str(tmp_path / "torch-home"))
    with pytest.raises(WeightsUnavailable) as e:
        build_model(spec(pretrained=True))
    assert str(expected) in str(e.value) and "resnet18-f37072fd.pth" in str(e.value)
    assert e.value.expected == str(expected)


def test_default_weights_from_the_local_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.manual_seed(11)
    imagenet = resnet18(num_classes=1000)
    path = default_weights_path()
    path.parent.mkdir(parents=True)
    torch.save(imagenet.state_dict(), path)
    assert resolve_weights(True) == path
    m = build_model(spec(pretrained=True, conv1={"kernel": 7, "stride": 1, "padding": 3}))
    # pretrained everywhere except the new head and the new conv1
    assert torch.equal(m.layer3[1].conv2.weight, imagenet.layer3[1].conv2.weight)
    assert torch.equal(m.bn1.running_mean, imagenet.bn1.running_mean)
    assert m.fc.out_features == 10 and m.conv1.stride == (1, 1)
    assert not torch.equal(m.conv1.weight, imagenet.conv1.weight)


def test_explicit_weights_file_and_checkpoint_formats(tmp_path):
    src = resnet18(num_classes=10)
    f = tmp_path / "mine.pt"
    torch.save({"model": {f"module.{k}": v for k, v in src.state_dict().items()}}, f)
    m = build_model(spec(pretrained=str(f)))
    assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), src.state_dict().values()))


def test_bad_weights_files_fail_with_the_file_named(tmp_path):
    missing = tmp_path / "nope.pth"
    with pytest.raises(WeightsUnavailable, match="nope.pth"):
        build_model(spec(pretrained=str(missing)))
    bad = tmp_path / "truncated.pth"
    torch.save(resnet18().state_dict(), bad)
    bad.write_bytes(bad.read_bytes()[:5000])
    with pytest.raises(WeightsError, match="truncated.pth"):
        build_model(spec(pretrained=str(bad)))
    other = tmp_path / "other.pth"
    torch.save({"conv1.weight": torch.zeros(3)}, other)
    with pytest.raises(WeightsError, match="other.pth"):
        build_model(spec(pretrained=str(other)))


def test_grayscale_input_gets_a_one_channel_conv1(tmp_path):
    m = build_model(spec(), in_channels=1)
    assert m.conv1.in_channels == 1
    assert m(torch.zeros(1, 1, 36, 36)).shape == (1, 10)


def test_invalid_model_specs_name_the_field():
    with pytest.raises(ValueError, match=r"model.conv1.kernel"):
        validate_model({"conv1": {"kernel": 0, "stride": 1, "padding": 0}})
    with pytest.raises(ValueError, match=r"model.arch"):
        validate_model({"arch": "vgg"})
    with pytest.raises(ValueError, match=r"model.num_classes"):
        validate_model({"num_classes": "ten"})
    with pytest.raises(ValueError, match=r"model.pretrained"):
        validate_model({"pretrained": 3})


def test_weights_path_default_location(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert default_weights_path() == Path(tmp_path) / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
