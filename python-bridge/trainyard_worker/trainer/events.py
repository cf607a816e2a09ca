"""Trainer -> agent events: one JSON frame {"run_id", "type", "content"} per event on a ZeroMQ PUSH socket.

The agent binds a PULL socket at TRAINYARD_EVENTS_ENDPOINT and stamps, spools and forwards each event. Without
that variable (running the trainer by hand) events are printed to stdout as JSON lines. Only rank 0 of a
distributed run reports; the other ranks get a sink that drops everything.
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
from typing import Any, Protocol

ENDPOINT_ENV = "TRAINYARD_EVENTS_ENDPOINT"
LINGER_MS = 5000          # how long close() waits for queued events to reach the agent
PROGRESS_INTERVAL_S = 0.5


class Sink(Protocol):
    def send(self, frame: bytes) -> None: ...
    def close(self) -> None: ...


class ZmqSink:
    def __init__(self, endpoint: str) -> None:
        import zmq  # noqa: PLC0415 - only the reporting rank needs pyzmq

        self._zmq = zmq
        self._ctx = zmq.Context()
        self._sock = self._ctx.socket(zmq.PUSH)
        self._sock.setsockopt(zmq.LINGER, LINGER_MS)
        self._sock.setsockopt(zmq.SNDHWM, 100_000)
        self._sock.connect(endpoint)

    def send(self, frame: bytes) -> None:
        try:
            # the agent may be slow to read; a full queue drops the event rather than blocking training
            self._sock.send(frame, flags=self._zmq.NOBLOCK)
        except self._zmq.Again:
            sys.stderr.write("trainyard trainer: event queue full, dropped an event\n")

    def close(self) -> None:
        self._sock.close()        # lingers up to LINGER_MS for unsent events
        self._ctx.term()


class StdoutSink:
    def send(self, frame: bytes) -> None:
        sys.stdout.write(frame.decode() + "\n")
        sys.stdout.flush()

    def close(self) -> None:
        sys.stdout.flush()


class NullSink:
    def send(self, frame: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def _clean(v: Any) -> Any:
    """JSON without NaN/Infinity (the agent rejects them): non-finite floats become null."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


class RunEvents:
    """Typed helpers for the events of src/contracts/wire.ts, plus `progress`."""

    def __init__(self, run_id: str, sink: Sink) -> None:
        self.run_id = run_id
        self.sink = sink
        self._lock = threading.Lock()  # the stop watchdog may send `finished` from another thread
        self._last_progress = 0.0
        self.finished_sent = False

    def emit(self, type_: str, content: dict[str, Any]) -> None:
        frame = json.dumps({"run_id": self.run_id, "type": type_, "content": _clean(content)},
                           allow_nan=False, separators=(",", ":")).encode()
        with self._lock:
            if self.finished_sent:
                return
            if type_ == "finished":
                self.finished_sent = True
            self.sink.send(frame)

    def log(self, level: str, message: str) -> None:
        self.emit("log", {"level": level, "message": message})

    def metrics(self, points: list[dict[str, Any]]) -> None:
        points = [p for p in points if isinstance(p.get("value"), (int, float)) and math.isfinite(p["value"])]
        if points:
            self.emit("metrics", {"points": points})

    def progress(self, epoch: int, step: int, steps_per_epoch: int, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_progress >= PROGRESS_INTERVAL_S:
            self._last_progress = now
            self.emit("progress", {"epoch": epoch, "step": step, "steps_per_epoch": steps_per_epoch})

    def finished(self, status: str, error: str | None, epochs_completed: int) -> None:
        self.emit("finished", {"status": status, "error": error, "epochs_completed": epochs_completed})

    def close(self) -> None:
        with self._lock:
            self.sink.close()


def open_events(run_id: str, rank: int = 0) -> RunEvents:
    if rank != 0:
        return RunEvents(run_id, NullSink())
    endpoint = os.environ.get(ENDPOINT_ENV)
    return RunEvents(run_id, ZmqSink(endpoint) if endpoint else StdoutSink())


def point(key: str, value: float, step: int, epoch: int, wall_time: float | None = None) -> dict[str, Any]:
    return {"key": key, "step": int(step), "epoch": int(epoch), "value": float(value),
            "wall_time": time.time() if wall_time is None else wall_time}
