"""Checkpoints: atomic writes, clear errors for damaged files, RNG round trips, retention."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
import torch
from conftest import use_all_cores

from trainyard_worker.trainer.checkpoint import (FORMAT, CheckpointError, capture_rng, link_or_copy, load_checkpoint,
                                                 plain_scheduler_state, prune_epoch_checkpoints, restore_rng,
                                                 save_checkpoint)

use_all_cores()


def state(**extra):
    return {"format": FORMAT, "model": {"w": torch.arange(4.0)}, "optimizer": {}, "epoch": 1,
            "rng": capture_rng({}), "spec_digest": "x", **extra}


def test_atomic_save_leaves_no_temp_files_and_replaces(tmp_path):
    p = tmp_path / "ck" / "epoch-0001.pt"
    n1 = save_checkpoint(p, state())
    n2 = save_checkpoint(p, state(epoch=2))
    assert n1 > 0 and n2 == p.stat().st_size
    assert sorted(os.listdir(p.parent)) == ["epoch-0001.pt"]
    assert load_checkpoint(p)["epoch"] == 2


def test_failed_write_keeps_the_previous_checkpoint(tmp_path):
    p = tmp_path / "final.pt"
    save_checkpoint(p, state(epoch=1))

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        save_checkpoint(p, state(epoch=2, bad=Unpicklable()))
    assert load_checkpoint(p)["epoch"] == 1 and os.listdir(tmp_path) == ["final.pt"]


def test_damaged_or_foreign_files_are_named(tmp_path):
    p = tmp_path / "c.pt"
    save_checkpoint(p, state())
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=r"c\.pt: not readable"):
        load_checkpoint(p)
    torch.save({"model": {}}, p)
    with pytest.raises(CheckpointError, match="not a trainyard checkpoint"):
        load_checkpoint(p)
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(tmp_path / "missing.pt")
    s = state()
    del s["rng"]
    torch.save(s, p)
    with pytest.raises(CheckpointError, match="missing 'rng'"):
        load_checkpoint(p)


def test_rng_states_round_trip(tmp_path):
    g = torch.Generator().manual_seed(3)
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    random.random(), np.random.rand(), torch.rand(1), torch.rand(1, generator=g)
    save_checkpoint(tmp_path / "r.pt", state(rng=capture_rng({"shuffle": g})))
    expected = (random.random(), float(np.random.rand()), float(torch.rand(1)), float(torch.rand(1, generator=g)))
    random.seed(9), np.random.seed(9), torch.manual_seed(9), g.manual_seed(9)
    restore_rng(load_checkpoint(tmp_path / "r.pt")["rng"], {"shuffle": g})
    got = (random.random(), float(np.random.rand()), float(torch.rand(1)), float(torch.rand(1, generator=g)))
    assert got == expected


def test_scheduler_state_is_plain_data():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    s = plain_scheduler_state(sched)
    assert s is not None and not any(callable(v) for v in s.values())
    sched.load_state_dict(s)


def test_prune_keeps_the_newest_and_final(tmp_path):
    for e in (1, 2, 3, 10):
        (tmp_path / f"epoch-{e:04d}.pt").write_bytes(b"x")
    (tmp_path / "final.pt").write_bytes(b"x")
    prune_epoch_checkpoints(tmp_path, keep=2)
    assert sorted(os.listdir(tmp_path)) == ["epoch-0003.pt", "epoch-0010.pt", "final.pt"]


def test_final_links_the_last_epoch(tmp_path):
    src = tmp_path / "epoch-0002.pt"
    save_checkpoint(src, state(epoch=2))
    n = link_or_copy(src, tmp_path / "final.pt")
    assert n == src.stat().st_size and load_checkpoint(tmp_path / "final.pt")["epoch"] == 2
    src.unlink()  # pruning the epoch file leaves final.pt intact
    assert load_checkpoint(tmp_path / "final.pt")["epoch"] == 2
