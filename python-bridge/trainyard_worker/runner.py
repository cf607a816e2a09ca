"""Starting, signalling and reaping trainer processes.

Each trainer runs in its own session (its own process group), so that SIGTERM/SIGKILL reach every
process of a run (torchrun and its ranks) and a terminal's Ctrl-C goes to the agent only, which then
stops its trainers in order. A tiny launcher sets PR_SET_PDEATHSIG before exec'ing the real command, so a
trainer dies with the agent even when the agent is SIGKILLed (no orphans); it is used instead of
subprocess's preexec_fn, which is unsafe in a process with threads.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

log = logging.getLogger("trainyard.runner")

BRIDGE_DIR = Path(__file__).resolve().parent.parent  # python-bridge/, put on the trainer's PYTHONPATH
SECRET_ENV = ("TRAINYARD_WORKER_KEY",)

_LAUNCHER = r"""
import ctypes, os, signal, sys
parent = int(sys.argv[1])
try:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
except Exception:
    pass
if os.getppid() != parent:  # the agent died before prctl took effect
    sys.exit(137)
try:
    os.execvp(sys.argv[2], sys.argv[2:])
except OSError as e:
    sys.stderr.write("trainyard: cannot start trainer %r: %s\n" % (sys.argv[2], e))
    sys.exit(127)
"""

ATTEMPT_MARKER = "=== trainyard: "


def parse_command_override(text: str) -> list[str]:
    """TRAINYARD_TRAINER_CMD: a JSON list of strings or a shell-like string."""
    text = text.strip()
    if text.startswith("["):
        try:
            cmd = json.loads(text)
        except ValueError as e:
            raise ValueError(f"TRAINYARD_TRAINER_CMD: invalid JSON list ({e})") from None
        if not (isinstance(cmd, list) and cmd and all(isinstance(x, str) for x in cmd)):
            raise ValueError("TRAINYARD_TRAINER_CMD: expected a non-empty JSON list of strings")
        return cmd
    cmd = shlex.split(text)
    if not cmd:
        raise ValueError("TRAINYARD_TRAINER_CMD is empty")
    return cmd


def trainer_command(job_path: Path, run_dir: Path, devices: list[int], override: str | None) -> list[str]:
    """The trainer's argv. An override may use {job}, {run_dir} and {python}; without {job}, --job PATH is
    appended. The default is the real trainer, under torchrun when the run has more than one GPU."""
    if override:
        cmd = parse_command_override(override)
        subs = {"job": str(job_path), "run_dir": str(run_dir), "python": sys.executable}
        uses_job = any("{job}" in a for a in cmd)
        cmd = [a.format(**subs) if "{" in a else a for a in cmd]
        return cmd if uses_job else [*cmd, "--job", str(job_path)]
    gpus = [d for d in devices if d >= 0]
    if len(gpus) > 1:
        # The project's torchrun wrapper: plain torchrun crashes at start on torch 1.13 + Python 3.11.
        return [sys.executable, "-m", "trainyard_worker.trainer.torchrun", "--standalone", "--nproc_per_node", str(len(gpus)),
                "-m", "trainyard_worker.trainer", "--job", str(job_path)]
    return [sys.executable, "-m", "trainyard_worker.trainer", "--job", str(job_path)]


def trainer_env(devices: list[int], events_endpoint: str, job_path: Path, run_id: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}  # the trainer never needs the key
    env["CUDA_VISIBLE_DEVICES"] = ",".join(str(d) for d in devices if d >= 0)
    env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"  # nvidia-smi's indexes, which the agent reported
    env["TRAINYARD_EVENTS_ENDPOINT"] = events_endpoint
    env["TRAINYARD_JOB"] = str(job_path)
    env["TRAINYARD_RUN_ID"] = run_id
    env["PYTHONUNBUFFERED"] = "1"
    pp = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = str(BRIDGE_DIR) + (os.pathsep + pp if pp else "")
    return env


def atomic_write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, allow_nan=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def proc_start_time(pid: int) -> int | None:
    """Start time in clock ticks (field 22 of /proc/PID/stat): tells a process from a later one with the same pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        return int(data[data.rindex(b")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class TrainerProcess:
    def __init__(self, run_id: str, cmd: list[str], env: dict[str, str], run_dir: Path, attempt: int) -> None:
        self.run_id = run_id
        self.cmd = cmd
        self.env = env
        self.run_dir = run_dir
        self.attempt = attempt
        self.log_path = run_dir / "trainer.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def start(self) -> None:
        with open(self.log_path, "ab") as logf:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
            logf.write(f"{ATTEMPT_MARKER}attempt {self.attempt} started {stamp}: {shlex.join(self.cmd)}\n".encode())
            logf.flush()
            self.popen = subprocess.Popen(
                [sys.executable, "-c", _LAUNCHER, str(os.getpid()), *self.cmd],
                cwd=self.run_dir, env=self.env, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True,
            )

    def poll(self) -> int | None:
        """The exit status once the trainer has exited (negative: killed by that signal), else None.

        On exit, whatever else is left in its process group (torchrun ranks) is killed before the leader is
        reaped, while its zombie still pins the group id.
        """
        if self.returncode is not None or self.popen is None:
            return self.returncode
        try:
            info = os.waitid(os.P_PID, self.popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            info = None
            exited = True
        else:
            exited = info is not None
        if not exited:
            return None
        self._signal_group(signal.SIGKILL)
        self.returncode = self.popen.wait()
        return self.returncode

    def _signal_group(self, sig: int) -> bool:
        if self.popen is None:
            return False
        try:
            os.killpg(self.popen.pid, sig)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def terminate(self) -> None:
        if self.returncode is None:
            self._signal_group(signal.SIGTERM)

    def kill(self) -> None:
        if self.returncode is None:
            self._signal_group(signal.SIGKILL)

    def log_tail(self, lines: int = 20, max_bytes: int = 16384) -> str:
        """The last lines this attempt wrote to trainer.log (stdout and stderr)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - max_bytes))
                data = f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        rows = data.splitlines()
        for i in range(len(rows) - 1, -1, -1):
            if rows[i].startswith(ATTEMPT_MARKER):
                rows = rows[i + 1:]
                break
        return "\n".join(rows[-lines:])


def kill_orphan(pid: int, start_time: int | None) -> bool:
    """Kill the process group of a trainer left by a previous agent, if that very process still runs."""
    if pid <= 1 or start_time is None or proc_start_time(pid) != start_time:
        return False
    try:
        os.killpg(pid, signal.SIGKILL)
        return True
    except (ProcessLookupError, PermissionError):
        return False
