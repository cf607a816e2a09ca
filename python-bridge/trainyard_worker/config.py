"""Agent configuration: command line, key loading and validation (clear errors, never a traceback)."""

from __future__ import annotations

import argparse
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

KEY_ENV = "TRAINYARD_WORKER_KEY"
TRAINER_CMD_ENV = "TRAINYARD_TRAINER_CMD"


class ConfigError(ValueError):
    """Bad configuration; the message names the flag, variable or file."""


@dataclass
class AgentConfig:
    connect: str
    key: bytes = field(repr=False)
    state_dir: Path = field(default_factory=lambda: default_state_dir())
    host: str = field(default_factory=socket.gethostname)
    labels: list[str] = field(default_factory=list)
    cpu_slots: int = 1
    heartbeat_ms: int = 1000
    liveness: int = 3
    cancel_grace_s: float = 15.0
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 32.0
    # ipc:// endpoint for trainer events; None = a short per-agent path under /tmp.
    events_endpoint: str | None = None
    # Overrides the trainer command (a JSON list or a shell-like string); None = TRAINYARD_TRAINER_CMD or
    # the real trainer.
    trainer_cmd: str | None = None
    # fsync every spool append (see spool.py for the window when off).
    spool_fsync: bool = True
    # Messages the DEALER queues before sends are refused (refused run-scoped messages stay spooled and are
    # retried in order).
    send_hwm: int = 10000
    # How often GPU/CPU stats are refreshed in the background (ms); None = the heartbeat interval.
    stats_interval_ms: int | None = None

    def __post_init__(self) -> None:
        self.state_dir = Path(self.state_dir)
        validate(self)


_ENDPOINT = re.compile(r"^(tcp|ipc|inproc)://\S+$")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "trainyard" / "worker"


def validate(c: AgentConfig) -> None:
    if not isinstance(c.connect, str) or not _ENDPOINT.match(c.connect):
        raise ConfigError(f"--connect: expected an endpoint like tcp://127.0.0.1:5555, got {c.connect!r}")
    if not c.key:
        raise ConfigError(f"no worker key: set {KEY_ENV} or pass --key-file PATH")
    if not c.host or len(c.host) > 200:
        raise ConfigError("--host must be a non-empty name of at most 200 characters")
    for label in c.labels:
        if not _LABEL.match(label):
            raise ConfigError(f"--labels: invalid label {label!r} (letters, digits, . _ : -; at most 64)")
    if not 0 <= c.cpu_slots <= 1024:
        raise ConfigError(f"--cpu-slots must be between 0 and 1024, got {c.cpu_slots}")
    if not 10 <= c.heartbeat_ms <= 3_600_000:
        raise ConfigError(f"--heartbeat-ms must be between 10 and 3600000, got {c.heartbeat_ms}")
    if not 1 <= c.liveness <= 1000:
        raise ConfigError(f"--liveness must be between 1 and 1000, got {c.liveness}")
    if not 0 <= c.cancel_grace_s <= 3600:
        raise ConfigError(f"--cancel-grace-s must be between 0 and 3600, got {c.cancel_grace_s}")
    if not 0 < c.reconnect_min_s <= c.reconnect_max_s:
        raise ConfigError("reconnect backoff: need 0 < min <= max")
    if c.events_endpoint is not None and not c.events_endpoint.startswith(("ipc://", "tcp://")):
        raise ConfigError(f"--events-endpoint must be ipc:// or tcp://, got {c.events_endpoint!r}")


def load_key(key_file: str | None) -> bytes:
    """--key-file wins over the environment; surrounding whitespace (a trailing newline) is stripped."""
    if key_file:
        try:
            data = Path(key_file).read_bytes().strip()
        except OSError as e:
            raise ConfigError(f"--key-file {key_file}: cannot read ({e.strerror or e})") from None
        if not data:
            raise ConfigError(f"--key-file {key_file}: the file is empty")
        return data
    value = os.environ.get(KEY_ENV, "").strip()
    if not value:
        raise ConfigError(f"no worker key: set {KEY_ENV} or pass --key-file PATH (the orchestrator's key)")
    return value.encode("utf-8")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python3 -m trainyard_worker",
        description="Trainyard worker agent: connects this host's GPUs/CPU to the orchestrator.",
        epilog=f"The shared key comes from {KEY_ENV} or --key-file; it is never logged.",
    )
    p.add_argument("--connect", required=True, help="orchestrator ROUTER endpoint, e.g. tcp://127.0.0.1:5555")
    p.add_argument("--state-dir", default=None, help="worker id, spool and run folders (default: %(default)s)")
    p.add_argument("--host", default=None, help="host name reported to the orchestrator")
    p.add_argument("--labels", default="", help="comma-separated host labels, e.g. a100,lab2")
    p.add_argument("--cpu-slots", type=int, default=1, help="concurrent CPU runs accepted (default 1)")
    p.add_argument("--heartbeat-ms", type=int, default=1000, help="heartbeat interval before welcome (ms)")
    p.add_argument("--liveness", type=int, default=3, help="missed intervals before reconnecting")
    p.add_argument("--cancel-grace-s", type=float, default=15.0, help="SIGTERM -> SIGKILL grace for trainers")
    p.add_argument("--reconnect-max-s", type=float, default=32.0, help="largest reconnect backoff (s)")
    p.add_argument("--key-file", default=None, help=f"file holding the shared key (else ${KEY_ENV})")
    p.add_argument("--events-endpoint", default=None, help="ipc:// endpoint for trainer events (default: /tmp)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return p


def config_from_args(argv: list[str] | None = None) -> tuple[AgentConfig, argparse.Namespace]:
    """Parse argv; raises ConfigError (argparse itself exits 2 on unknown flags)."""
    args = build_parser().parse_args(argv)
    key = load_key(args.key_file)
    labels = [x.strip() for x in args.labels.split(",") if x.strip()]
    cfg = AgentConfig(
        connect=args.connect,
        key=key,
        state_dir=Path(args.state_dir) if args.state_dir else default_state_dir(),
        host=args.host or socket.gethostname(),
        labels=labels,
        cpu_slots=args.cpu_slots,
        heartbeat_ms=args.heartbeat_ms,
        liveness=args.liveness,
        cancel_grace_s=args.cancel_grace_s,
        reconnect_max_s=max(1.0, args.reconnect_max_s),
        events_endpoint=args.events_endpoint,
    )
    return cfg, args
