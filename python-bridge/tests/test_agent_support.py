"""Test harness for the agent tests: a fake orchestrator (a real ROUTER socket speaking the real protocol),
a fake trainer script, and helpers to run the agent in-process or as a subprocess. No tests in here."""

from __future__ import annotations

import collections
import contextlib
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

BRIDGE = Path(__file__).resolve().parents[1]
if str(BRIDGE) not in sys.path:
    sys.path.insert(0, str(BRIDGE))

import zmq  # noqa: E402

from trainyard_worker import protocol  # noqa: E402
from trainyard_worker.agent import Agent  # noqa: E402
from trainyard_worker.config import AgentConfig  # noqa: E402

KEY = b"test-worker-key"
WAIT_S = 20.0  # generous deadline for things that must happen; never an assertion about speed

FAKE_TRAINER = r'''
import json, os, signal, sys, time
import zmq

job_path = sys.argv[sys.argv.index("--job") + 1]
job = json.load(open(job_path))
fake = job["spec"].get("fake", {})
mode = fake.get("mode", "quick")
run_id = job["run_id"]
ctx = zmq.Context()
push = ctx.socket(zmq.PUSH)
push.linger = 5000
push.connect(os.environ["TRAINYARD_EVENTS_ENDPOINT"])

def send(type_, content):
    push.send(json.dumps({"run_id": run_id, "type": type_, "content": content}).encode())

def bye(code):
    push.close()
    ctx.term()
    sys.exit(code)

if fake.get("pidfile"):
    with open(fake["pidfile"] + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.replace(fake["pidfile"] + ".tmp", fake["pidfile"])

stop = []
if mode == "sleep":
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
elif mode == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

send("started", {"pid": os.getpid(), "device": "cpu", "attempt": job["attempt"], "resumed_from_epoch": None,
                 "dataset": {"fingerprint": "f", "train_size": 8, "test_size": 4, "class_names": ["a", "b"],
                             "input_shape": [3, 8, 8]}, "params": 10})
send("log", {"level": "info", "message": json.dumps({
    "cvd": os.environ.get("CUDA_VISIBLE_DEVICES"), "key_leaked": "TRAINYARD_WORKER_KEY" in os.environ,
    "job": job, "cwd": os.getcwd()})})
if mode == "quick":
    for step in range(1, 4):
        send("progress", {"epoch": 1, "step": step, "steps_per_epoch": 3})
        send("metrics", {"points": [{"key": "train_loss", "step": step, "epoch": 1, "value": 1.0 / step,
                                     "wall_time": time.time()}]})
    send("checkpoint", {"epoch": 1, "path": "ckpt.pt", "bytes": 1, "final": True})
    send("finished", {"status": "succeeded", "error": None, "epochs_completed": 1})
    bye(0)
if mode == "garbage":
    push.send(b"not json")
    push.send_multipart([b"two", b"frames"])
    push.send(json.dumps([1, 2]).encode())
    push.send(json.dumps({"run_id": "someone-else", "type": "log", "content": {}}).encode())
    send("explode", {})
    send("progress", {"epoch": "x"})
    send("metrics", {"points": [{"key": "train_loss", "step": 1, "epoch": 1, "value": float("nan"), "wall_time": 1.0},
                                {"key": "train_loss", "step": 2, "epoch": 1, "value": 0.5, "wall_time": 2.0}]})
    send("evaluation", {"epoch": 1, "split": "test", "class_names": ["a", "b"], "matrix": [[1, 2]],
                        "misclassified": [], "loss": 0.1, "samples": 3})
    send("log", {"level": "loud", "message": "y" * 200_000})
    send("finished", {"status": "great", "error": None, "epochs_completed": "1"})
    send("metrics", {"points": []})
    bye(0)
if mode == "flood":
    blob = "x" * fake["size"]
    for i in range(fake["count"]):
        send("log", {"level": "debug", "message": f"{i} {blob}"})
    send("finished", {"status": "succeeded", "error": None, "epochs_completed": 0})
    bye(0)
if mode == "crash":
    send("checkpoint", {"epoch": 2, "path": "ckpt.pt", "bytes": 1, "final": False})
    sys.stderr.write("Traceback (most recent call last):\nRuntimeError: fake trainer exploded\n")
    sys.stderr.flush()
    bye(3)
# sleep, sleep-noterm, ignore-term: work until told to stop
send("progress", {"epoch": 2, "step": 5, "steps_per_epoch": 10})
while not stop:
    time.sleep(0.02)
time.sleep(0.3)  # a second SIGTERM arriving now would be counted
send("log", {"level": "info", "message": f"sigterms={len(stop)}"})
send("checkpoint", {"epoch": 2, "path": "final.pt", "bytes": 1, "final": True})
send("finished", {"status": "cancelled", "error": None, "epochs_completed": 2})
bye(0)
'''


def write_fake_trainer(tmp: Path) -> str:
    path = tmp / "fake_trainer.py"
    path.write_text(FAKE_TRAINER)
    return json.dumps([sys.executable, str(path)])


def make_spec(mode: str = "quick", gpus: int = 0, **fake: Any) -> dict[str, Any]:
    return {
        "model": {"arch": "resnet18", "pretrained": False, "conv1": None, "maxpool": True, "num_classes": 2},
        "data": {"source": "synthetic", "path": None, "train_subset": None, "test_subset": None, "pad_to": None,
                 "resize": None, "channels": 3, "normalize": None, "augment": []},
        "optim": {"name": "adam", "lr": 0.001, "weight_decay": 0, "momentum": 0.9, "schedule": {"name": "none"}},
        "train": {"epochs": 1, "batch_size": 4, "seed": 0, "precision": "auto", "channels_last": True,
                  "eval_every": 1, "compile": False},
        "resources": {"gpus": gpus, "min_gpu_memory_mb": 0, "labels": [], "share": False},
        "priority": 0,
        "max_restarts": 2,
        "fake": {"mode": mode, **fake},
    }


class FakeOrchestrator:
    """A ROUTER socket that plays the orchestrator, with automatic heartbeats to the last peer seen."""

    def __init__(self, key: bytes = KEY, hb_ms: int = 200, liveness: int = 10) -> None:
        self.ctx = zmq.Context()
        self.key = key
        self.hb_ms = hb_ms
        self.liveness = liveness
        self.session = str(uuid.uuid4())
        self.sock: zmq.Socket | None = None
        self.port: int | None = None
        self.peer: bytes | None = None
        self.received: list[protocol.Message] = []
        self.inbox: collections.deque[protocol.Message] = collections.deque()  # read while waiting, not yet expected
        self.auto_heartbeat = True
        self._last_hb = 0.0
        self.bind()

    @property
    def endpoint(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def bind(self, port: int | None = None) -> None:
        deadline = time.monotonic() + WAIT_S
        while True:
            sock = self.ctx.socket(zmq.ROUTER)
            sock.linger = 0
            try:
                if port is None:
                    sock.bind("tcp://127.0.0.1:*")
                    self.port = int(sock.getsockopt_string(zmq.LAST_ENDPOINT).rsplit(":", 1)[1])
                else:
                    sock.bind(f"tcp://127.0.0.1:{port}")
                    self.port = port
                self.sock = sock
                return
            except zmq.ZMQError:
                sock.close(0)
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def close_socket(self) -> None:
        self.inbox.clear()
        if self.sock is not None:
            self.sock.close(0)
            self.sock = None
        self.peer = None

    def restart(self) -> None:
        """A new orchestrator process on the same port: new session, no memory of the worker."""
        self.session = str(uuid.uuid4())
        self.bind(self.port)

    def close(self) -> None:
        self.close_socket()
        self.ctx.term()

    def send(self, type_: str, content: dict[str, Any], peer: bytes | None = None, key: bytes | None = None,
             session: str | None = None) -> None:
        assert self.sock is not None
        header = protocol.make_header(session or self.session, type_)
        frames = protocol.encode(key or self.key, header, content)
        self.sock.send_multipart([peer or self.peer or b"", *frames])

    def send_raw(self, frames: list[bytes], peer: bytes | None = None) -> None:
        assert self.sock is not None
        self.sock.send_multipart([peer or self.peer or b"", *frames])

    def _tick(self) -> None:
        now = time.monotonic()
        if self.auto_heartbeat and self.peer is not None and now - self._last_hb >= self.hb_ms / 1000:
            self._last_hb = now
            self.send("heartbeat", {})

    def _read_one(self, wait_s: float) -> protocol.Message | None:
        assert self.sock is not None
        if not self.sock.poll(int(wait_s * 1000) + 1):
            return None
        ident, *frames = self.sock.recv_multipart()
        msg = protocol.decode(self.key, frames)
        if msg.type == "hello":
            self.peer = ident
        self.received.append(msg)
        return msg

    def wait_for(self, cond: Callable[[], Any], timeout: float = WAIT_S, what: str = "condition") -> Any:
        """Wait for a condition while staying a live orchestrator (heartbeats out, messages kept for expect)."""
        deadline = time.monotonic() + timeout
        while True:
            v = cond()
            if v:
                return v
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            if self.sock is None:
                time.sleep(0.02)
                continue
            self._tick()
            msg = self._read_one(0.02)
            if msg is not None:
                self.inbox.append(msg)

    def recv(self, timeout: float = WAIT_S) -> protocol.Message:
        if self.inbox:
            return self.inbox.popleft()
        assert self.sock is not None
        deadline = time.monotonic() + timeout
        while True:
            self._tick()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no message from the agent")
            msg = self._read_one(min(remaining, self.hb_ms / 2000))
            if msg is not None:
                return msg

    def expect(self, type_: str, pred: Callable[[protocol.Message], bool] | None = None,
               timeout: float = WAIT_S) -> protocol.Message:
        deadline = time.monotonic() + timeout
        while True:
            msg = self.recv(max(0.01, deadline - time.monotonic()))
            if msg.type == type_ and (pred is None or pred(msg)):
                return msg

    def collect_run(self, run_id: str, until_type: str = "finished", timeout: float = WAIT_S) -> list[protocol.Message]:
        """Run-scoped messages of one run up to (and including) the first of until_type."""
        out: list[protocol.Message] = []
        deadline = time.monotonic() + timeout
        while True:
            msg = self.recv(max(0.01, deadline - time.monotonic()))
            if msg.header.get("run_id") == run_id:
                out.append(msg)
                if msg.type == until_type:
                    return out

    def heartbeat_only(self, until: Callable[[], Any], timeout: float = WAIT_S) -> None:
        """Keep the agent alive without reading anything it sends (its queues fill up)."""
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() > deadline:
                raise TimeoutError("condition not reached while not reading")
            self._tick()
            time.sleep(0.02)

    def idle(self, seconds: float) -> None:
        """Keep heartbeating and reading for a while (messages still land in .received)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                self.recv(max(0.01, deadline - time.monotonic()))

    def welcome(self, acks: dict[str, int] | None = None, cancel: list[str] | None = None) -> None:
        self.send("welcome", {"heartbeat_interval_ms": self.hb_ms, "liveness": self.liveness,
                              "acks": acks or {}, "cancel": cancel or []})

    def handshake(self, **kw: Any) -> protocol.Message:
        hello = self.expect("hello")
        self.welcome(**kw)
        return hello


def agent_config(tmp: Path, orch: FakeOrchestrator, **kw: Any) -> AgentConfig:
    args: dict[str, Any] = dict(connect=orch.endpoint, key=KEY, state_dir=tmp / "state", host="test-host",
                                labels=["cpu", "test"], cpu_slots=1, heartbeat_ms=orch.hb_ms,
                                liveness=orch.liveness, cancel_grace_s=10.0, reconnect_min_s=0.2,
                                reconnect_max_s=0.8, trainer_cmd=write_fake_trainer(tmp), spool_fsync=False)
    args.update(kw)
    return AgentConfig(**args)


@contextlib.contextmanager
def running_agent(cfg: AgentConfig, nvidia_smi: str | None = "/nonexistent/nvidia-smi") -> Iterator[Agent]:
    agent = Agent(cfg, nvidia_smi=nvidia_smi)
    errors: list[BaseException] = []

    def target() -> None:
        try:
            agent.run()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    t = threading.Thread(target=target, name="agent-under-test", daemon=True)
    t.start()
    assert agent.running.wait(WAIT_S), "agent did not start"
    try:
        yield agent
    finally:
        agent.stop()
        t.join(WAIT_S)
        assert not t.is_alive(), "agent did not stop"
        assert not errors, f"agent crashed: {errors[0]!r}"


def wait_for(cond: Callable[[], Any], timeout: float = WAIT_S, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (a reparented zombie may wait on a lazy init)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return False
    state = data[data.rindex(b")") + 2:].split()[0]
    return state not in (b"Z", b"X")


def agent_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(BRIDGE) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["TRAINYARD_WORKER_KEY"] = KEY.decode()
    env.update(extra)
    return env
