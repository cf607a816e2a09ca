"""The worker agent: one DEALER connection to the orchestrator, one trainer process per accepted run.

Single-threaded event loop (a zmq poller over the DEALER and the trainers' PULL socket, plus timers);
only GPU/CPU sampling runs in a background thread, so a slow nvidia-smi never delays a message.

Connection states: CONNECTING (hello sent, awaiting welcome) -> READY (welcomed; heartbeats flow, live
run-scoped messages are sent) -> on silence for liveness x interval: BACKOFF (socket closed; reconnect
after 1 s, 2 s, ... 32 s; reset by a welcome). Run-scoped messages always go to the spool first; while
not READY they are only spooled and the welcome's replay sends them.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq

from . import gpus, protocol
from .config import TRAINER_CMD_ENV, AgentConfig
from .introspect import versions as software_versions
from .runner import (TrainerProcess, atomic_write_json, describe_exit, kill_orphan, proc_start_time,
                     trainer_command, trainer_env)
from .spool import Spool, SpoolEntry, valid_run_id

log = logging.getLogger("trainyard.agent")

CONNECTING, READY, BACKOFF = "connecting", "ready", "backoff"
# After a trainer exits, keep reading its events this long before deciding it never sent `finished`.
EXIT_DRAIN_S = 0.5
MAX_EVENT_BYTES = protocol.MAX_MESSAGE_BYTES
POLL_CAP_S = 0.1
SHUTDOWN_FLUSH_MS = 500


@dataclass
class ActiveRun:
    run_id: str
    attempt: int
    spec: dict[str, Any]
    devices: list[int]
    run_dir: Path
    proc: TrainerProcess
    share: bool = False
    progress: dict[str, int] = field(default_factory=lambda: {"epoch": 0, "step": 0, "steps_per_epoch": 0})
    epochs_completed: int = 0
    finished_sent: bool = False
    cancel_reason: str | None = None
    cancel_deadline: float | None = None
    kill_sent: bool = False
    exited_at: float | None = None
    exit_code: int | None = None
    pid_start: int | None = None

    @property
    def on_cpu(self) -> bool:
        return self.devices == [-1]


class Agent:
    def __init__(self, config: AgentConfig, context: zmq.Context | None = None, nvidia_smi: str | None = None):
        self.cfg = config
        self._own_ctx = context is None
        self.ctx = context or zmq.Context()
        self.nvidia_smi = nvidia_smi
        self.state_dir = Path(config.state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "runs").mkdir(exist_ok=True)
        self.worker_id = self._load_worker_id()
        self.session = str(uuid.uuid4())
        self.spool = Spool(self.state_dir, fsync=config.spool_fsync)
        self.events_endpoint = config.events_endpoint or f"ipc:///tmp/trainyard-{os.getpid()}-{self.session[:8]}.ipc"
        self.counters: Counter[str] = Counter()
        self.active: dict[str, ActiveRun] = {}
        self.state = BACKOFF
        self.orchestrator_session: str | None = None
        self.interval_s = config.heartbeat_ms / 1000.0
        self.liveness = config.liveness
        self.backoff_s = config.reconnect_min_s
        self.versions = software_versions()
        self.inventory: list[dict[str, Any]] = [gpus.cpu_device()]
        self.latest_stats: dict[str, Any] = {"devices": [], "cpu_pct": None, "mem_used_mb": None}
        self._dealer: zmq.Socket | None = None
        self._pull: zmq.Socket | None = None
        self._poller = zmq.Poller()
        self._stop_requests = 0
        self._stop_event = threading.Event()
        self._shutting_down = False
        self._liveness_deadline = 0.0
        self._next_heartbeat = 0.0
        self._reconnect_at = 0.0
        self._socket_counter = 0
        self._last_immediate = -1e9
        self._sent_upto: dict[str, int] = {}  # per run: highest seq handed to the current connection
        self._backlog = False
        self._stats_thread: threading.Thread | None = None
        self.running = threading.Event()  # set once the loop is up (tests wait on it)

    # ---- lifecycle -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the loop to stop: trainers get SIGTERM and the grace period. A second call kills them now.
        Safe from signal handlers and other threads."""
        self._stop_requests += 1
        self._stop_event.set()

    def run(self) -> int:
        try:
            self._setup()
            self._connect()
            self.running.set()
            while True:
                now = time.monotonic()
                if self._stop_requests and not self._shutting_down:
                    self._begin_shutdown(now)
                if self._shutting_down:
                    if self._stop_requests > 1:
                        self._kill_all()
                    if not self.active:
                        break
                try:
                    ready = dict(self._poller.poll(self._poll_timeout_ms(now)))
                except zmq.ZMQError as e:
                    if e.errno == zmq.ETERM:
                        break
                    raise
                if self._dealer is not None and ready.get(self._dealer):
                    self._drain_dealer()
                if self._pull is not None and ready.get(self._pull):
                    self._drain_events()
                now = time.monotonic()
                self._supervise(now)
                self._timers(now)
        finally:
            self._teardown()
        return 0

    def _remove_stale_endpoints(self) -> None:
        """ipc files of agents that were SIGKILLed (they could not clean up) pile up in /tmp otherwise."""
        if self.cfg.events_endpoint is not None:
            return
        for path in Path("/tmp").glob("trainyard-*-*.ipc"):
            try:
                pid = int(path.name.split("-")[1])
            except (IndexError, ValueError):
                continue
            if pid != os.getpid() and not Path(f"/proc/{pid}").exists():
                try:
                    path.unlink()
                except OSError:
                    pass

    def _setup(self) -> None:
        self._remove_stale_endpoints()
        self._pull = self.ctx.socket(zmq.PULL)
        self._pull.linger = 0
        self._pull.bind(self.events_endpoint)
        self._poller.register(self._pull, zmq.POLLIN)
        self.inventory = gpus.devices(self.nvidia_smi)
        self._stats_thread = threading.Thread(target=self._stats_loop, name="trainyard-stats", daemon=True)
        self._stats_thread.start()
        self._recover_previous_runs()
        log.info("worker %s session %s on %s: %d GPU(s), %d CPU slot(s)", self.worker_id, self.session,
                 self.cfg.host, sum(1 for d in self.inventory if d["kind"] == "cuda"), self.cfg.cpu_slots)

    def _teardown(self) -> None:
        self._stop_event.set()
        for run in list(self.active.values()):
            run.proc.kill()
            run.proc.poll()
        if self._dealer is not None:
            self._close_dealer(linger_ms=SHUTDOWN_FLUSH_MS if self.state == READY else 0)
        if self._pull is not None:
            self._poller.unregister(self._pull)
            self._pull.close(0)
            self._pull = None
        if self.events_endpoint.startswith("ipc://"):
            try:
                os.unlink(self.events_endpoint[len("ipc://"):])
            except OSError:
                pass
        if self._stats_thread is not None:
            self._stats_thread.join(timeout=5)
        self.spool.close()
        if self._own_ctx:
            self.ctx.term()
        log.info("worker agent stopped")

    def _load_worker_id(self) -> str:
        path = self.state_dir / "worker_id"
        try:
            text = path.read_text("utf-8").strip()
            uuid.UUID(text)
            return text
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as e:
            log.warning("%s is unreadable (%s); creating a new worker id", path, e)
        worker_id = str(uuid.uuid4())
        tmp = path.with_name(f".worker_id.{os.getpid()}.tmp")
        tmp.write_text(worker_id + "\n", "utf-8")
        os.replace(tmp, path)
        return worker_id

    def _stats_loop(self) -> None:
        period = (self.cfg.stats_interval_ms or self.cfg.heartbeat_ms) / 1000.0
        sampler = gpus.CpuSampler()
        while not self._stop_event.is_set():
            try:
                st = gpus.stats(self.nvidia_smi, sampler)
                self.latest_stats = st
            except Exception as e:  # noqa: BLE001 - stats never stop the agent
                log.warning("stats sampling failed: %s", e)
            self._stop_event.wait(max(0.05, period))

    # ---- connection ----------------------------------------------------------------------------

    def _connect(self) -> None:
        self._socket_counter += 1
        sock = self.ctx.socket(zmq.DEALER)
        sock.linger = 0
        sock.sndhwm = self.cfg.send_hwm
        sock.routing_id = f"{self.worker_id[:8]}-{self.session[:8]}-{self._socket_counter}".encode()
        try:
            sock.connect(self.cfg.connect)
        except zmq.ZMQError as e:
            sock.close(0)
            raise ValueError(f"--connect {self.cfg.connect}: {e}") from None
        self._dealer = sock
        self._poller.register(sock, zmq.POLLIN)
        self.state = CONNECTING
        self.orchestrator_session = None
        now = time.monotonic()
        self._liveness_deadline = now + self.interval_s * self.liveness
        self._send("hello", self._hello_content())
        log.info("connecting to %s (hello sent)", self.cfg.connect)

    def _close_dealer(self, linger_ms: int = 0) -> None:
        if self._dealer is None:
            return
        self._poller.unregister(self._dealer)
        self._dealer.close(linger_ms)
        self._dealer = None

    def _reconnect(self, immediate: bool, why: str) -> None:
        self._close_dealer()
        self.counters["reconnects"] += 1
        now = time.monotonic()
        if immediate and now - self._last_immediate < self.cfg.reconnect_min_s:
            immediate = False  # a peer that keeps saying disconnect gets the backoff, not a hot loop
        if immediate:
            self._last_immediate = now
            log.info("%s; saying hello again", why)
            self._connect()
            return
        self.state = BACKOFF
        self._reconnect_at = time.monotonic() + self.backoff_s
        log.warning("%s; reconnecting in %.1f s", why, self.backoff_s)
        self.backoff_s = min(self.backoff_s * 2, self.cfg.reconnect_max_s)

    def _hello_content(self) -> dict[str, Any]:
        runs = [{"run_id": r, "last_seq": self.spool.last_seq(r), "state": "running"} for r in sorted(self.active)]
        runs += [{"run_id": r, "last_seq": self.spool.last_seq(r), "state": "finished"}
                 for r in self.spool.runs() if r not in self.active]
        return {
            "host": self.cfg.host,
            "worker_id": self.worker_id,
            "labels": list(self.cfg.labels),
            "devices": self.inventory,
            "cpu_slots": self.cfg.cpu_slots,
            "versions": self.versions,
            "runs": runs,
            "pid": os.getpid(),
        }

    def _send(self, type_: str, content: dict[str, Any], entry: SpoolEntry | None = None) -> bool:
        if self._dealer is None:
            return False
        if entry is not None:
            header = protocol.make_header(self.session, entry.type, entry.run_id, entry.seq, entry.msg_id, entry.date)
        else:
            header = protocol.make_header(self.session, type_)
        try:
            frames = protocol.encode(self.cfg.key, header, content)
        except (TypeError, ValueError) as e:
            self.counters["encode_errors"] += 1
            log.error("cannot encode %s: %s", type_, e)
            return False
        try:
            self._dealer.send_multipart(frames, flags=zmq.NOBLOCK)
        except zmq.Again:
            self.counters["send_would_block"] += 1
            return False
        self.counters[f"sent_{type_}"] += 1
        return True

    def _flush(self, run_id: str) -> int:
        """Send the run's spooled entries above what this connection has already taken, in seq order.

        Stops at the first send the socket refuses (high-water mark); the loop retries on later turns."""
        if self.state != READY:
            return 0
        sent = 0
        cursor = self._sent_upto.get(run_id, 0)
        for entry in self.spool.pending(run_id, cursor):
            if not self._send(entry.type, entry.content, entry):
                self._backlog = True
                break
            cursor = entry.seq
            sent += 1
        self._sent_upto[run_id] = cursor
        return sent

    def _flush_backlog(self) -> None:
        self._backlog = False
        for run_id in self.spool.runs():
            self._flush(run_id)

    def _emit(self, run_id: str, type_: str, content: dict[str, Any]) -> SpoolEntry | None:
        """A run-scoped message: next seq, into the spool, then out if the connection is up."""
        try:
            entry = self.spool.add(run_id, type_, content)
        except (OSError, ValueError, TypeError) as e:
            self.counters["spool_errors"] += 1
            log.error("run %s: cannot spool %s (%s); the message is lost", run_id, type_, e)
            return None
        self._flush(run_id)
        return entry

    # ---- orchestrator messages -----------------------------------------------------------------

    def _drain_dealer(self) -> None:
        for _ in range(1000):
            if self._dealer is None:
                return
            try:
                frames = self._dealer.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                self._on_frames(frames)
            except Exception:  # noqa: BLE001 - one bad message must not take the agent down
                self.counters["handler_errors"] += 1
                log.exception("error while handling a message from the orchestrator")

    def _drop(self, reason: str, detail: str = "") -> None:
        self.counters[f"dropped_{reason}"] += 1
        n = self.counters[f"dropped_{reason}"]
        if n <= 10 or n & (n - 1) == 0:  # the first few, then at powers of two: a flood cannot fill the log
            log.warning("dropped a message from the orchestrator (%s%s; %d so far)", reason,
                        f": {detail}" if detail else "", n)

    def _on_frames(self, frames: list[bytes]) -> None:
        try:
            msg = protocol.decode(self.cfg.key, frames)
        except protocol.DecodeError as e:
            self._drop(e.reason)  # detail may quote the peer's bytes; the reason is enough
            return
        now = time.monotonic()
        self._liveness_deadline = now + self.interval_s * self.liveness
        self.counters[f"received_{msg.type}"] += 1
        if msg.type not in protocol.WORKER_INBOUND_TYPES:
            self._drop("unexpected_type", msg.type)
            return
        try:
            content = protocol.validate_inbound(msg.type, msg.content)
        except protocol.ContentError as e:
            self._drop("invalid_content", f"{msg.type}: {e}")
            if msg.type == "assign" and isinstance(msg.content.get("run_id"), str):
                self._send("rejected", {"run_id": msg.content["run_id"], "reason": f"invalid assign: {e}"})
            return
        if msg.type == "welcome":
            self._on_welcome(msg.header["session"], content)
            return
        if self.orchestrator_session is not None and msg.header["session"] != self.orchestrator_session:
            self._reconnect(immediate=True, why="the orchestrator restarted (new session)")
            return
        if msg.type == "heartbeat":
            return
        if msg.type == "disconnect":
            self._reconnect(immediate=True, why=f"orchestrator asked to reconnect ({content['reason'][:200]})")
        elif msg.type == "ack":
            self.spool.ack(content["run_id"], content["seq"])
        elif msg.type == "cancel":
            self._cancel(content["run_id"], content["reason"] or "cancelled")
        elif msg.type == "assign":
            self._on_assign(content)

    def _on_welcome(self, session: str, c: dict[str, Any]) -> None:
        self.orchestrator_session = session
        self.interval_s = c["heartbeat_interval_ms"] / 1000.0
        self.liveness = c["liveness"]
        self.state = READY
        self.backoff_s = self.cfg.reconnect_min_s
        now = time.monotonic()
        self._liveness_deadline = now + self.interval_s * self.liveness
        self._next_heartbeat = now
        acks: dict[str, int] = c["acks"]
        for run_id, seq in acks.items():
            self.spool.ack(run_id, seq)
        # This connection has sent nothing yet: replay everything above the orchestrator's acks.
        self._sent_upto = {run_id: seq for run_id, seq in acks.items()}
        replayed = sum(self._flush(run_id) for run_id in self.spool.runs())
        for run_id in c["cancel"]:
            self._cancel(run_id, "cancelled by the orchestrator")
        log.info("welcomed by the orchestrator (heartbeat %d ms, liveness %d); replayed %d message(s)",
                 c["heartbeat_interval_ms"], self.liveness, replayed)

    # ---- assignments ---------------------------------------------------------------------------

    def _check_assign(self, c: dict[str, Any]) -> str | None:
        """Why the run cannot be accepted here, or None."""
        if self._shutting_down:
            return "the worker is shutting down"
        run_id, spec, devices = c["run_id"], c["spec"], c["devices"]
        if not valid_run_id(run_id):
            return "run_id must be 1-64 characters of letters, digits, '.', '_' or '-'"
        for section in ("model", "data", "optim", "train", "resources"):
            if not isinstance(spec.get(section), dict):
                return f"spec.{section} must be an object"
        train, res = spec["train"], spec["resources"]
        for key in ("epochs", "batch_size"):
            v = train.get(key)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                return f"spec.train.{key} must be an integer >= 1"
        n_gpus = res.get("gpus", 0)
        if isinstance(n_gpus, bool) or not isinstance(n_gpus, int) or n_gpus < 0:
            return "spec.resources.gpus must be an integer >= 0"
        if len(set(devices)) != len(devices):
            return f"devices {devices} repeat an index"
        if n_gpus == 0:
            if devices != [-1]:
                return f"spec.resources.gpus is 0 but devices is {devices} (expected [-1], the CPU)"
            if self.cfg.cpu_slots == 0:
                return "this worker offers no CPU slots"
            # A trainer that already sent `finished` is only exiting; the orchestrator has freed its slot
            # and places the next run at once, so counting it would reject that run for nothing.
            busy = sum(1 for r in self.active.values() if r.on_cpu and not r.finished_sent)
            if busy >= self.cfg.cpu_slots:
                return f"all {self.cfg.cpu_slots} CPU slot(s) are busy"
            return None
        if len(devices) != n_gpus or any(d < 0 for d in devices):
            return f"spec.resources.gpus is {n_gpus} but devices is {devices}"
        known = {d["index"]: d for d in self.inventory if d["kind"] == "cuda"}
        share = res.get("share") is True
        min_mem = res.get("min_gpu_memory_mb", 0)
        for d in devices:
            if d not in known:
                return f"GPU {d} does not exist on this worker (GPUs: {sorted(known) or 'none'})"
            if isinstance(min_mem, (int, float)) and known[d]["memory_total_mb"] and min_mem > known[d]["memory_total_mb"]:
                return f"GPU {d} has {known[d]['memory_total_mb']} MB, less than min_gpu_memory_mb {min_mem}"
            for r in self.active.values():
                if d in r.devices and not r.finished_sent and not (share and r.share):
                    return f"GPU {d} is busy with run {r.run_id}"
        return None

    def _on_assign(self, c: dict[str, Any]) -> None:
        run_id = c["run_id"]
        current = self.active.get(run_id)
        if current is not None:
            if current.attempt == c["attempt"]:
                self._send("accepted", {"run_id": run_id})  # a repeated assign: answer it the same way
            else:
                self._send("rejected", {"run_id": run_id,
                                        "reason": f"attempt {current.attempt} of this run is still running here"})
            return
        reason = self._check_assign(c)
        if reason is not None:
            log.info("rejected run %s: %s", run_id, reason)
            self._send("rejected", {"run_id": run_id, "reason": reason})
            return
        self._send("accepted", {"run_id": run_id})
        self._start_trainer(c)

    def _start_trainer(self, c: dict[str, Any]) -> None:
        run_id, attempt, devices = c["run_id"], c["attempt"], c["devices"]
        run_dir = (self.state_dir / "runs" / run_id).resolve()
        job_path = run_dir / "job.json"
        try:
            first_seq = c.get("first_seq")
            if isinstance(first_seq, int) and first_seq > 0:
                self.spool.start_at(run_id, first_seq)
            run_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_json(job_path, {"run_id": run_id, "attempt": attempt, "spec": c["spec"],
                                         "devices": devices, "resume_from": c.get("resume_from"),
                                         "run_dir": str(run_dir)})
            override = self.cfg.trainer_cmd or os.environ.get(TRAINER_CMD_ENV) or None
            cmd = trainer_command(job_path, run_dir, devices, override)
            proc = TrainerProcess(run_id, cmd, trainer_env(devices, self.events_endpoint, job_path, run_id),
                                  run_dir, attempt)
            proc.start()
        except (OSError, ValueError) as e:
            log.error("run %s: cannot start the trainer: %s", run_id, e)
            self._emit(run_id, "finished", {"status": "failed", "error": f"the worker could not start the trainer: {e}",
                                            "epochs_completed": 0})
            return
        run = ActiveRun(run_id=run_id, attempt=attempt, spec=c["spec"], devices=devices, run_dir=run_dir, proc=proc,
                        share=c["spec"]["resources"].get("share") is True, pid_start=proc_start_time(proc.pid))
        self.active[run_id] = run
        self._write_run_state(run, "running")
        log.info("run %s attempt %d: trainer pid %d on devices %s", run_id, attempt, proc.pid, devices)

    def _write_run_state(self, run: ActiveRun, state: str, **extra: Any) -> None:
        try:
            atomic_write_json(run.run_dir / "state.json", {
                "run_id": run.run_id, "attempt": run.attempt, "state": state, "pid": run.proc.pid,
                "pid_start": run.pid_start,
                "devices": run.devices, "epochs_completed": run.epochs_completed, **extra})
        except (OSError, ValueError) as e:
            log.warning("run %s: cannot write state.json: %s", run.run_id, e)

    def _recover_previous_runs(self) -> None:
        """Runs a previous agent process was executing when it died: kill any survivor, report them failed."""
        for state_path in sorted((self.state_dir / "runs").glob("*/state.json")):
            try:
                st = json.loads(state_path.read_text("utf-8"))
                run_id = st["run_id"]
                if not valid_run_id(run_id) or st.get("state") not in ("running", "finishing"):
                    continue
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if isinstance(st.get("pid"), int) and kill_orphan(st["pid"], st.get("pid_start")):
                log.warning("run %s: killed trainer pid %d left by a previous agent", run_id, st["pid"])
            finished_seq = st.get("finished_seq")
            # 'finishing' + the spool past finished_seq: the finished message was written before the crash.
            written = (st["state"] == "finishing" and isinstance(finished_seq, int) and finished_seq > 0
                       and self.spool.last_seq(run_id) >= finished_seq)
            if not written:
                self._emit(run_id, "finished", {
                    "status": "failed",
                    "error": f"the worker agent restarted while attempt {st.get('attempt')} was running; "
                             "the trainer was stopped",
                    "epochs_completed": st["epochs_completed"] if isinstance(st.get("epochs_completed"), int) else 0,
                    # Not the run's fault: the orchestrator makes it lost and resumes it from its checkpoint.
                    "interrupted": True})
            st["state"] = "finished"
            try:
                atomic_write_json(state_path, st)
            except OSError:
                pass
            if not written:
                log.warning("run %s: reported as interrupted (its trainer did not survive the agent restart)", run_id)

    # ---- cancel and supervision ----------------------------------------------------------------

    def _cancel(self, run_id: str, reason: str) -> None:
        run = self.active.get(run_id)
        if run is None:
            log.info("cancel for run %s, which is not running here", run_id)
            return
        if run.exited_at is not None:
            return
        if run.cancel_reason is not None:
            # Already stopping: a second SIGTERM would tell the trainer to skip its final checkpoint.
            log.info("run %s: already stopping (%s)", run_id, run.cancel_reason)
            return
        run.cancel_reason = reason
        run.proc.terminate()
        run.cancel_deadline = time.monotonic() + self.cfg.cancel_grace_s
        log.info("run %s: SIGTERM sent (%s); SIGKILL in %.0f s if still running", run_id, reason,
                 self.cfg.cancel_grace_s)

    def _begin_shutdown(self, now: float) -> None:
        self._shutting_down = True
        log.info("stopping: %d trainer(s) to stop", len(self.active))
        for run_id in list(self.active):
            self._cancel(run_id, "the worker agent is shutting down")

    def _kill_all(self) -> None:
        for run in self.active.values():
            if not run.kill_sent and run.exited_at is None:
                run.proc.kill()
                run.kill_sent = True

    def _supervise(self, now: float) -> None:
        for run in list(self.active.values()):
            if run.exited_at is None:
                code = run.proc.poll()
                if code is not None:
                    run.exited_at, run.exit_code = now, code
                    log.info("run %s: trainer exited (%s)", run.run_id, describe_exit(code))
                elif run.cancel_deadline is not None and now >= run.cancel_deadline and not run.kill_sent:
                    log.warning("run %s: trainer still running after the grace period; SIGKILL", run.run_id)
                    run.proc.kill()
                    run.kill_sent = True
            if run.exited_at is not None and (run.finished_sent or now - run.exited_at >= EXIT_DRAIN_S):
                self._finalize(run)

    def _finalize(self, run: ActiveRun) -> None:
        """The trainer has exited: report it if it did not, then release its devices."""
        if not run.finished_sent:
            code = run.exit_code if run.exit_code is not None else -9
            status = "cancelled" if run.cancel_reason is not None else "failed"
            error = f"trainer exited with {describe_exit(code)} without reporting finished"
            if run.cancel_reason is not None:
                error = f"{run.cancel_reason}; {error}"
            tail = run.proc.log_tail(20)
            if tail:
                error += "\n" + tail
            self._finish(run, {"status": status, "error": error, "epochs_completed": run.epochs_completed})
        self._write_run_state(run, "finished", exit_code=run.exit_code)
        del self.active[run.run_id]

    def _finish(self, run: ActiveRun, content: dict[str, Any]) -> None:
        """Spool+send `finished` behind a crash-safe marker, so a restarted agent neither loses nor repeats it."""
        self._write_run_state(run, "finishing", finished_seq=self.spool.next_seq(run.run_id))
        self._emit(run.run_id, "finished", content)
        run.finished_sent = True

    # ---- trainer events ------------------------------------------------------------------------

    def _drain_events(self) -> None:
        for _ in range(1000):
            if self._pull is None:
                return
            try:
                frames = self._pull.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                self._on_event(frames)
            except Exception:  # noqa: BLE001
                self.counters["handler_errors"] += 1
                log.exception("error while handling a trainer event")

    def _bad_event(self, why: str) -> None:
        self.counters["bad_events"] += 1
        n = self.counters["bad_events"]
        if n <= 10 or n & (n - 1) == 0:
            log.warning("ignored a trainer event: %s (%d so far)", why, n)

    def _on_event(self, frames: list[bytes]) -> None:
        if len(frames) != 1 or len(frames[0]) > MAX_EVENT_BYTES:
            self._bad_event("expected one frame of at most 4 MiB")
            return
        try:
            # Lenient on NaN/Infinity (Python's json writes them); sanitize_run_event removes them below.
            ev = json.loads(frames[0].decode("utf-8", errors="replace"))
        except (ValueError, RecursionError) as e:
            self._bad_event(f"not JSON ({e})")
            return
        if not (isinstance(ev, dict) and isinstance(ev.get("run_id"), str) and isinstance(ev.get("type"), str)
                and isinstance(ev.get("content"), dict)):
            self._bad_event("expected {run_id: str, type: str, content: object}")
            return
        run = self.active.get(ev["run_id"])
        if run is None:
            self._bad_event(f"run {ev['run_id'][:64]!r} is not running here")
            return
        type_, content = ev["type"], ev["content"]
        if type_ == "progress":
            p = {k: content.get(k) for k in ("epoch", "step", "steps_per_epoch")}
            if all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in p.values()):
                run.progress = p  # type: ignore[assignment]
            else:
                self._bad_event("progress needs integer epoch, step and steps_per_epoch")
            return
        if type_ not in protocol.RUN_SCOPED_TYPES:
            self._bad_event(f"unknown event type {type_[:32]!r}")
            return
        if run.finished_sent:
            self._bad_event(f"run {run.run_id}: {type_} after finished")
            return
        sent_type, content = protocol.sanitize_run_event(type_, content, run.epochs_completed)
        if sent_type != type_:
            self._bad_event(f"run {run.run_id}: invalid {type_} replaced by a warning log")
        self._track_epochs(run, sent_type, content)
        if sent_type == "finished":
            self._finish(run, content)
        else:
            self._emit(run.run_id, sent_type, content)

    def _track_epochs(self, run: ActiveRun, type_: str, content: dict[str, Any]) -> None:
        """epochs_completed as last known, for a `finished` the agent may have to write itself."""
        epoch: Any = None
        if type_ in ("checkpoint", "evaluation"):
            epoch = content.get("epoch")
        elif type_ == "started":
            epoch = content.get("resumed_from_epoch")
        elif type_ == "metrics" and isinstance(content.get("points"), list):
            ends = [p.get("epoch") for p in content["points"] if isinstance(p, dict) and p.get("key") == "epoch_seconds"]
            epoch = max((e for e in ends if isinstance(e, int) and not isinstance(e, bool)), default=None)
        if isinstance(epoch, int) and not isinstance(epoch, bool) and epoch > run.epochs_completed:
            run.epochs_completed = epoch
            if type_ == "checkpoint":
                self._write_run_state(run, "running")

    # ---- timers --------------------------------------------------------------------------------

    def _heartbeat_content(self) -> dict[str, Any]:
        st = self.latest_stats
        return {
            "devices": st.get("devices", []),
            "cpu_pct": st.get("cpu_pct"),
            "mem_used_mb": st.get("mem_used_mb"),
            "runs": [{"run_id": r.run_id, **r.progress} for r in self.active.values()],
        }

    def _poll_timeout_ms(self, now: float) -> int:
        deadlines = [now + POLL_CAP_S]
        if self.state == READY:
            deadlines.append(self._next_heartbeat)
        if self.state in (READY, CONNECTING):
            deadlines.append(self._liveness_deadline)
        if self.state == BACKOFF:
            deadlines.append(self._reconnect_at)
        return max(0, int((min(deadlines) - now) * 1000) + 1)

    def _timers(self, now: float) -> None:
        if self.state == BACKOFF:
            if now >= self._reconnect_at and not self._shutting_down:
                self._connect()
            return
        if now >= self._liveness_deadline:
            silent = self.interval_s * self.liveness
            what = "no welcome" if self.state == CONNECTING else "the orchestrator was silent"
            self._reconnect(immediate=False, why=f"{what} for {silent:.1f} s")
            return
        if self.state == READY and self._backlog:
            self._flush_backlog()
        if self.state == READY and now >= self._next_heartbeat:
            self._send("heartbeat", self._heartbeat_content())
            self._next_heartbeat = now + self.interval_s


def install_signal_handlers(agent: Agent) -> None:
    """SIGINT/SIGTERM stop the agent (trainers get SIGTERM and the grace period; a second signal kills)."""
    def handler(signum: int, _frame: Any) -> None:
        log.info("received %s", signal.Signals(signum).name)
        agent.stop()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
