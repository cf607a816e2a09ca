from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainyard_worker.spool import COMPACT_MIN_DEAD, Spool, valid_run_id  # noqa: E402


def fill(spool: Spool, run_id: str, n: int) -> None:
    for i in range(n):
        spool.add(run_id, "metrics", {"points": [{"key": "train_loss", "step": i, "epoch": 1, "value": i / 10,
                                                  "wall_time": 1.5}]})


def test_append_pending_ack_next_seq(tmp_path: Path) -> None:
    s = Spool(tmp_path)
    assert s.next_seq("r1") == 1 and s.pending("r1") == [] and s.runs() == []
    fill(s, "r1", 5)
    s.append("r2", 1, "log", {"level": "info", "message": "é"})
    assert [e.seq for e in s.pending("r1")] == [1, 2, 3, 4, 5]
    assert [e.seq for e in s.pending("r1", after_seq=3)] == [4, 5]
    assert s.next_seq("r1") == 6 and s.runs() == ["r1", "r2"]
    assert s.ack("r1", 2) == 2
    assert [e.seq for e in s.pending("r1")] == [3, 4, 5]
    assert s.ack("r1", 2) == 0  # duplicate acks are harmless
    assert s.ack("nope", 9) == 0
    s.ack("r1", 5)
    assert s.runs() == ["r2"] and s.next_seq("r1") == 6
    with pytest.raises(ValueError, match="seq"):
        s.append("r1", 5, "log", {})  # seq never goes backwards
    s.close()


def test_restart_continues_seq_and_keeps_unacked_entries(tmp_path: Path) -> None:
    s = Spool(tmp_path)
    fill(s, "r1", 4)
    s.ack("r1", 1)
    first = s.pending("r1")
    s.close()
    s2 = Spool(tmp_path)
    assert [(e.seq, e.msg_id, e.content) for e in s2.pending("r1")] == [(e.seq, e.msg_id, e.content) for e in first]
    assert s2.next_seq("r1") == 5
    s2.ack("r1", 4)  # everything acknowledged: the log goes away, the seq numbering does not
    assert not (tmp_path / "spool" / "r1.jsonl").exists()
    s2.close()
    s3 = Spool(tmp_path)
    assert s3.runs() == [] and s3.next_seq("r1") == 5 and s3.last_seq("r1") == 4


def test_a_torn_last_line_is_ignored_and_cut(tmp_path: Path) -> None:
    s = Spool(tmp_path)
    fill(s, "r1", 3)
    s.close()
    path = tmp_path / "spool" / "r1.jsonl"
    with open(path, "ab") as f:
        f.write(b'{"seq":4,"type":"metrics","content":{"poi')  # crash mid-write
    s2 = Spool(tmp_path)
    assert [e.seq for e in s2.pending("r1")] == [1, 2, 3]
    assert s2.next_seq("r1") == 4
    s2.add("r1", "log", {"level": "info", "message": "after the crash"})
    s2.close()
    lines = path.read_bytes().splitlines()
    assert [json.loads(x)["seq"] for x in lines] == [1, 2, 3, 4]
    assert [e.seq for e in Spool(tmp_path).pending("r1")] == [1, 2, 3, 4]


def test_a_corrupt_middle_line_is_skipped(tmp_path: Path) -> None:
    s = Spool(tmp_path)
    fill(s, "r1", 2)
    s.close()
    path = tmp_path / "spool" / "r1.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + b"\x00garbage\n" + lines[1])
    s2 = Spool(tmp_path)
    assert [e.seq for e in s2.pending("r1")] == [1, 2]


def test_acked_lines_are_compacted_lazily(tmp_path: Path) -> None:
    s = Spool(tmp_path)
    n = COMPACT_MIN_DEAD * 3
    fill(s, "r1", n)
    path = tmp_path / "spool" / "r1.jsonl"
    s.ack("r1", 10)
    assert len(path.read_bytes().splitlines()) == n  # not worth a rewrite yet
    s.ack("r1", n - 20)
    assert [json.loads(x)["seq"] for x in path.read_bytes().splitlines()] == list(range(n - 19, n + 1))
    fill(s, "r1", 1)
    assert [e.seq for e in Spool(tmp_path).pending("r1")] == list(range(n - 19, n + 2))


def test_acked_entries_are_not_replayed_after_a_restart(tmp_path: Path) -> None:
    s = Spool(tmp_path)
    fill(s, "r1", 3)
    s.ack("r1", 2)
    s.close()  # close compacts
    assert [e.seq for e in Spool(tmp_path).pending("r1")] == [3]


def test_run_ids_cannot_escape_the_folder(tmp_path: Path) -> None:
    s = Spool(tmp_path)
    for bad in ("../x", "a/b", "", ".hidden", "x" * 65, "a..b", 5):
        assert not valid_run_id(bad)
        with pytest.raises(ValueError):
            s.add(bad, "log", {})  # type: ignore[arg-type]
    assert valid_run_id("0b5c8a54-1f2e-4c1e-9f1a-2d3c4b5a6e7f") and valid_run_id("run_1.a") and valid_run_id("x" * 64)
    (tmp_path / "spool" / "..evil.jsonl").write_text('{"seq":1}\n')
    assert Spool(tmp_path).runs() == []


def test_without_fsync_it_behaves_the_same(tmp_path: Path) -> None:
    s = Spool(tmp_path, fsync=False)
    fill(s, "r1", 3)
    s.close()
    assert [e.seq for e in Spool(tmp_path, fsync=False).pending("r1")] == [1, 2, 3]


def test_unreadable_meta_is_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "spool").mkdir()
    (tmp_path / "spool" / "r1.meta.json").write_text("{oops")
    s = Spool(tmp_path)
    assert s.next_seq("r1") == 1


def test_start_at_continues_numbering_from_the_orchestrators_first_seq(tmp_path):
    # A run resumed on this worker after attempt 1 ran elsewhere: seqs 1..41 are already stored.
    sp = Spool(tmp_path, fsync=False)
    sp.start_at("run-a", 42)
    assert sp.next_seq("run-a") == 42
    assert sp.add("run-a", "log", {"level": "info", "message": "x"}).seq == 42
    sp.close()
    again = Spool(tmp_path, fsync=False)
    assert again.next_seq("run-a") == 43
    # Never moves backwards.
    again.start_at("run-a", 5)
    assert again.next_seq("run-a") == 43
