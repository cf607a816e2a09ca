"""Per-run on-disk log of run-scoped messages the orchestrator has not acknowledged yet.

Layout under <state_dir>/spool/:
  <run_id>.jsonl      one JSON object per line: {"seq", "type", "content", "msg_id", "date"}
  <run_id>.meta.json  {"last_seq", "acked"}: written on compaction, so that seq numbering continues
                      after a restart even when every entry has been acknowledged and dropped.

Durability: every append is flushed and fsync'd before append() returns (fsync=True, the default), so a
message the agent has sent is always on disk first. With fsync=False the window is the OS's dirty-page
writeback (a host crash may lose the tail; an agent crash loses nothing).

Replays use the SAME seq (and msg_id); the orchestrator dedupes by (run_id, seq).
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .protocol import js_dumps, now_iso

log = logging.getLogger("trainyard.spool")

# At most 64 characters: the orchestrator refuses a hello that lists a longer run id.
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Rewrite a file once this many acknowledged lines sit in it and they outnumber the live ones.
COMPACT_MIN_DEAD = 64


def valid_run_id(run_id: Any) -> bool:
    """Run ids become file names; anything that could escape the folder is refused."""
    return isinstance(run_id, str) and bool(_RUN_ID.match(run_id)) and ".." not in run_id


@dataclass(frozen=True)
class SpoolEntry:
    run_id: str
    seq: int
    type: str
    content: dict[str, Any]
    msg_id: str
    date: str


@dataclass
class _Run:
    entries: list[SpoolEntry]
    last_seq: int = 0
    acked: int = 0
    dead_lines: int = 0  # acknowledged lines still in the file


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class Spool:
    def __init__(self, state_dir: str | os.PathLike[str], fsync: bool = True) -> None:
        self.dir = Path(state_dir) / "spool"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self._runs: dict[str, _Run] = {}
        self._files: dict[str, Any] = {}
        self._load()

    # ---- public API ----------------------------------------------------------------------------

    def append(self, run_id: str, seq: int, type_: str, content: dict[str, Any],
               msg_id: str | None = None, date: str | None = None) -> SpoolEntry:
        """Durably record an outgoing message. seq must be above every seq used so far for the run."""
        run = self._run(run_id)
        if not isinstance(seq, int) or seq <= run.last_seq:
            raise ValueError(f"spool {run_id}: seq {seq} is not above the last seq {run.last_seq}")
        entry = SpoolEntry(run_id, seq, type_, content, msg_id or str(uuid.uuid4()), date or now_iso())
        line = js_dumps({"seq": seq, "type": type_, "content": content, "msg_id": entry.msg_id,
                         "date": entry.date}) + "\n"
        f = self._file(run_id)
        f.write(line.encode("utf-8"))
        f.flush()
        if self.fsync:
            os.fsync(f.fileno())
        run.entries.append(entry)
        run.last_seq = seq
        return entry

    def add(self, run_id: str, type_: str, content: dict[str, Any]) -> SpoolEntry:
        """append() with the run's next seq."""
        return self.append(run_id, self.next_seq(run_id), type_, content)

    def start_at(self, run_id: str, first_seq: int) -> None:
        """Make the run's next seq at least first_seq (the orchestrator chooses it per attempt).

        Seqs below first_seq were stored by the orchestrator in an earlier attempt, possibly on another
        worker, so they count as acknowledged here. Persisted at once so a restart keeps numbering.
        """
        run = self._run(run_id)
        if first_seq - 1 <= run.last_seq:
            return
        run.last_seq = first_seq - 1
        run.acked = max(run.acked, first_seq - 1)
        run.entries = [e for e in run.entries if e.seq > run.acked]
        self._compact(run_id, run)

    def ack(self, run_id: str, seq: int) -> int:
        """Drop entries with seq <= seq. Returns how many were dropped. The file is compacted lazily."""
        run = self._runs.get(run_id)
        if run is None or seq <= run.acked:
            return 0
        run.acked = max(run.acked, min(seq, run.last_seq) if run.last_seq else seq)
        cut = bisect.bisect_right(run.entries, seq, key=lambda e: e.seq)  # entries are in seq order
        keep = run.entries[cut:]
        dropped = cut
        run.entries = keep
        run.dead_lines += dropped
        if run.dead_lines and (not keep or (run.dead_lines >= COMPACT_MIN_DEAD and run.dead_lines >= len(keep))):
            self._compact(run_id, run)
        return dropped

    def pending(self, run_id: str, after_seq: int = 0) -> list[SpoolEntry]:
        run = self._runs.get(run_id)
        if run is None:
            return []
        return run.entries[bisect.bisect_right(run.entries, after_seq, key=lambda e: e.seq):]

    def next_seq(self, run_id: str) -> int:
        run = self._runs.get(run_id)
        return (run.last_seq if run else 0) + 1

    def last_seq(self, run_id: str) -> int:
        run = self._runs.get(run_id)
        return run.last_seq if run else 0

    def acked(self, run_id: str) -> int:
        run = self._runs.get(run_id)
        return run.acked if run else 0

    def runs(self) -> list[str]:
        """Run ids with pending (unacknowledged) entries."""
        return sorted(r for r, run in self._runs.items() if run.entries)

    def known_runs(self) -> list[str]:
        return sorted(self._runs)

    def close(self) -> None:
        for run_id, run in self._runs.items():
            if run.dead_lines:
                try:
                    self._compact(run_id, run)
                except OSError as e:
                    log.warning("spool %s: compaction at close failed: %s", run_id, e)
        for f in self._files.values():
            try:
                f.close()
            except OSError:
                pass
        self._files.clear()

    def __iter__(self) -> Iterator[SpoolEntry]:
        for run_id in self.runs():
            yield from self._runs[run_id].entries

    # ---- internals -----------------------------------------------------------------------------

    def _run(self, run_id: str) -> _Run:
        run = self._runs.get(run_id)
        if run is None:
            if not valid_run_id(run_id):
                raise ValueError(f"invalid run_id {run_id!r}: must match {_RUN_ID.pattern}")
            run = self._runs[run_id] = _Run(entries=[])
        return run

    def _path(self, run_id: str) -> Path:
        return self.dir / f"{run_id}.jsonl"

    def _meta_path(self, run_id: str) -> Path:
        return self.dir / f"{run_id}.meta.json"

    def _file(self, run_id: str) -> Any:
        f = self._files.get(run_id)
        if f is None:
            f = self._files[run_id] = open(self._path(run_id), "ab")
        return f

    def _compact(self, run_id: str, run: _Run) -> None:
        # Meta first: if we crash between the two writes, the old file plus the new meta still yields the
        # right last_seq and acked (acked entries are filtered on load).
        _atomic_write(self._meta_path(run_id),
                      js_dumps({"last_seq": run.last_seq, "acked": run.acked}).encode("utf-8"))
        f = self._files.pop(run_id, None)
        if f is not None:
            f.close()
        if run.entries:
            data = "".join(js_dumps({"seq": e.seq, "type": e.type, "content": e.content, "msg_id": e.msg_id,
                                     "date": e.date}) + "\n" for e in run.entries)
            _atomic_write(self._path(run_id), data.encode("utf-8"))
        else:
            try:
                self._path(run_id).unlink()
                _fsync_dir(self.dir)
            except FileNotFoundError:
                pass
        run.dead_lines = 0

    def _load(self) -> None:
        for meta_path in sorted(self.dir.glob("*.meta.json")):
            run_id = meta_path.name[: -len(".meta.json")]
            if not valid_run_id(run_id):
                continue
            try:
                meta = json.loads(meta_path.read_text("utf-8"))
                last_seq, acked = int(meta.get("last_seq", 0)), int(meta.get("acked", 0))
            except (OSError, ValueError, TypeError, AttributeError) as e:
                log.warning("spool: ignoring unreadable %s (%s)", meta_path.name, e)
                continue
            self._runs[run_id] = _Run(entries=[], last_seq=max(0, last_seq), acked=max(0, acked))
        for path in sorted(self.dir.glob("*.jsonl")):
            run_id = path.name[: -len(".jsonl")]
            if not valid_run_id(run_id):
                log.warning("spool: ignoring %s (not a valid run id)", path.name)
                continue
            self._load_file(run_id, path)
        for tmp in self.dir.glob(".*.tmp"):
            try:
                tmp.unlink()
            except OSError:
                pass

    def _load_file(self, run_id: str, path: Path) -> None:
        run = self._runs.setdefault(run_id, _Run(entries=[]))
        try:
            data = path.read_bytes()
        except OSError as e:
            log.warning("spool %s: unreadable (%s); its entries cannot be replayed", path.name, e)
            return
        good_end = 0
        pos = 0
        by_seq: dict[int, SpoolEntry] = {}
        while pos < len(data):
            nl = data.find(b"\n", pos)
            if nl == -1:
                # A crash in the middle of a write leaves a last line without its newline: ignore it, and cut
                # it off so that the next append starts on a fresh line.
                log.warning("spool %s: ignoring a torn last line (%d bytes)", path.name, len(data) - pos)
                break
            raw = data[pos:nl]
            pos = nl + 1
            good_end = pos
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
                seq, type_, content = obj["seq"], obj["type"], obj["content"]
                if not (isinstance(seq, int) and seq >= 1 and isinstance(type_, str) and isinstance(content, dict)):
                    raise ValueError("bad field types")
                entry = SpoolEntry(run_id, seq, type_, content, str(obj.get("msg_id") or uuid.uuid4()),
                                   str(obj.get("date") or now_iso()))
            except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
                log.warning("spool %s: skipping a corrupt line (%s)", path.name, e)
                run.dead_lines += 1
                continue
            run.last_seq = max(run.last_seq, seq)
            if seq <= run.acked:
                run.dead_lines += 1
                continue
            by_seq[seq] = entry
        if good_end < len(data):
            try:
                with open(path, "r+b") as f:
                    f.truncate(good_end)
                    f.flush()
                    os.fsync(f.fileno())
            except OSError as e:
                log.warning("spool %s: could not cut the torn line (%s)", path.name, e)
        run.entries = [by_seq[s] for s in sorted(by_seq)]
