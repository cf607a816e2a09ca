"""The trainer process: `python -m trainyard_worker.trainer --job RUN_DIR/job.json`.

Started by the agent (under torchrun for multi-GPU runs). Reports events (events.py), ends with exactly one
`finished`: succeeded / cancelled / skipped exit 0, failed exits 1. SIGTERM or SIGINT stops at the next step
boundary with a final checkpoint; a second signal, or a stop that takes longer than the watchdog allows,
reports `cancelled` and exits at once.

By hand: `python -m trainyard_worker.trainer --spec spec.json --run-dir DIR` (events printed as JSON lines).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

STOP_WATCHDOG_S = float(os.environ.get("TRAINYARD_STOP_WATCHDOG_S", "120"))


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m trainyard_worker.trainer", description=__doc__.splitlines()[0])
    p.add_argument("--job", help="job.json written by the agent: {run_id, attempt, spec, devices, resume_from, run_dir}")
    p.add_argument("--spec", help="(by hand) a RunSpec JSON file instead of --job")
    p.add_argument("--run-dir", help="(with --spec) folder for checkpoints; default ./trainyard-run")
    p.add_argument("--run-id", default="local", help="(with --spec) run id to put in events")
    p.add_argument("--resume-from", help="(with --spec) checkpoint to resume from")
    p.add_argument("--devices", default="", help="(with --spec) comma-separated GPU indexes; empty = CPU")
    a = p.parse_args(argv)
    if bool(a.job) == bool(a.spec):
        p.error("give either --job or --spec")
    return a


def _job_from_args(a: argparse.Namespace) -> dict[str, Any]:
    from .job import JobError, load_job, validate_job  # noqa: PLC0415

    if a.job:
        return load_job(a.job)
    try:
        spec = json.loads(Path(a.spec).read_text("utf-8"))
    except (OSError, ValueError) as e:
        raise JobError(f"spec file {a.spec}: {e}") from None
    devices = [int(d) for d in a.devices.split(",") if d.strip()] if a.devices else []
    return validate_job({"run_id": a.run_id, "attempt": 0, "spec": spec, "devices": devices,
                         "resume_from": a.resume_from, "run_dir": a.run_dir or "trainyard-run"})


def _raw_run_id(a: argparse.Namespace) -> str:
    """The run id for reporting a job file that failed validation, when it can still be read."""
    try:
        rid = json.loads(Path(a.job).read_text("utf-8")).get("run_id") if a.job else a.run_id
        return rid if isinstance(rid, str) and rid else "unknown"
    except Exception:  # noqa: BLE001
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    a = _parse(argv)
    from .loop import StopFlag  # noqa: PLC0415 - imports torch; signals must be caught from here on

    stop = StopFlag()
    state: dict[str, Any] = {"events": None, "trainer": None}

    def epochs_done() -> int:
        return state["trainer"].epochs_completed if state["trainer"] is not None else 0

    def force_exit(why: str) -> None:
        ev = state["events"]
        if ev is not None:
            ev.finished("cancelled", why, epochs_done())
            ev.close()
        os._exit(0)

    def on_signal(signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if stop.requested:
            force_exit(f"stopped by a second {name} before the final checkpoint was written")
        stop.request(f"stopped by {name}")
        t = threading.Timer(STOP_WATCHDOG_S, force_exit,
                            args=(f"stop by {name} took longer than {STOP_WATCHDOG_S:.0f} s; exited without a final "
                                  f"checkpoint",))
        t.daemon = True
        t.start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    from .events import open_events  # noqa: PLC0415
    from .job import JobError  # noqa: PLC0415

    try:
        job = _job_from_args(a)
    except JobError as e:
        ev = open_events(_raw_run_id(a), int(os.environ.get("RANK", "0") or 0))
        ev.finished("failed", str(e), 0)
        ev.close()
        sys.stderr.write(f"trainyard trainer: {e}\n")
        return 1

    import torch  # noqa: PLC0415

    from .checkpoint import CheckpointError  # noqa: PLC0415
    from .data import DataError  # noqa: PLC0415
    from .distributed import init_distributed, shutdown  # noqa: PLC0415
    from .model import WeightsError  # noqa: PLC0415
    from .loop import Outcome, Trainer, cpu_threads, tune_malloc  # noqa: PLC0415

    torch.set_num_threads(cpu_threads(int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1)))
    tune_malloc()
    EXPECTED = (JobError, DataError, CheckpointError, WeightsError)
    rank = int(os.environ.get("RANK", "0") or 0)
    events = open_events(job["run_id"], rank)
    state["events"] = events
    ctx = None
    try:
        ctx = init_distributed(job["devices"])
        state["trainer"] = Trainer(job, events, stop, ctx)
        outcome = state["trainer"].run()
    except Exception as e:  # noqa: BLE001 - every failure is reported, never a hang or a silent exit
        tb = traceback.format_exc()
        sys.stderr.write(tb)
        msg = str(e).splitlines()[0] if str(e) else ""
        if isinstance(e, EXPECTED):  # our own messages already name the field or file
            error = msg
        else:
            events.log("error", tb[-4000:])
            error = f"{type(e).__name__}: {msg}" if msg else type(e).__name__
        outcome = Outcome("failed", error, epochs_done())
    events.finished(outcome.status, outcome.error, outcome.epochs_completed)
    events.close()
    if ctx is not None:
        shutdown(ctx)
    if outcome.status == "failed":
        sys.stderr.write(f"trainyard trainer: failed: {outcome.error}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
