"""The layer table (the notebook's torchinfo output as data)."""

from __future__ import annotations

import json

import pytest
from conftest import use_all_cores

from trainyard_worker.trainer.summary import layer_table

use_all_cores()


def test_standard_resnet18_at_36px_matches_the_notebook_table():
    t = layer_table({"num_classes": 1000}, 36)
    json.dumps(t)
    tot = t["totals"]
    assert tot["params"] == 11_689_512 and tot["trainable_params"] == 11_689_512
    assert round(tot["mult_adds"] / 1e6, 2) == 81.05
    assert (tot["input_size_mb"], tot["forward_backward_size_mb"], tot["params_size_mb"],
            tot["estimated_total_size_mb"]) == (0.02, 1.28, 46.76, 48.05)
    rows = {r["name"]: r for r in t["rows"]}
    assert rows["avgpool"]["input_shape"] == [1, 512, 2, 2]
    assert rows["conv1"]["output_shape"] == [1, 64, 18, 18] and rows["conv1"]["params"] == 9408
    assert rows["maxpool"]["output_shape"] == [1, 64, 9, 9]
    assert rows["layer2.0.downsample"]["params"] == 8448 and rows["layer2.0.downsample"]["depth"] == 3
    assert rows["fc"]["input_shape"] == [1, 512] and rows["fc"]["params"] == 513_000
    assert t["output_shape"] == [1, 1000]
    # torchinfo's numbering and its 51 depth-3 rows (the shared ReLU counted once per call)
    assert [r["index"] for r in t["rows"] if r["depth"] == 1] == [f"1-{i}" for i in range(1, 11)]
    assert sum(1 for r in t["rows"] if r["depth"] == 3) == 51
    assert t["rows"][0]["type"] == "ResNet" and t["rows"][0]["mult_adds"] == tot["mult_adds"]


@pytest.mark.parametrize("model, size, before_pool", [
    ({"conv1": {"kernel": 7, "stride": 1, "padding": 3}}, 36, [1, 512, 3, 3]),
    ({"maxpool": False}, 36, [1, 512, 3, 3]),
    ({}, 224, [1, 512, 7, 7]),
])
def test_variants_and_sizes(model, size, before_pool):
    t = layer_table(model, size)
    rows = {r["name"]: r for r in t["rows"]}
    assert rows["avgpool"]["input_shape"] == before_pool
    assert t["output_shape"] == [1, 10]
    if model.get("maxpool") is False:
        assert rows["maxpool"]["type"] == "Identity"


def test_grayscale_input_and_bad_arguments():
    t = layer_table({}, 28, channels=1)
    assert t["rows"][1]["input_shape"] == [1, 1, 28, 28]
    with pytest.raises(ValueError, match="input_size"):
        layer_table({}, 0)
    with pytest.raises(ValueError, match="channels"):
        layer_table({}, 36, channels=2)
    with pytest.raises(ValueError, match="model.conv1.stride"):
        layer_table({"conv1": {"kernel": 3, "stride": 0, "padding": 1}}, 36)
    with pytest.raises(ValueError, match="too small"):
        layer_table({"conv1": {"kernel": 15, "stride": 1, "padding": 0}}, 8)


def test_pretrained_variants_need_no_weights_for_the_table(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert layer_table({"pretrained": True}, 36)["totals"]["params"] == 11_181_642
