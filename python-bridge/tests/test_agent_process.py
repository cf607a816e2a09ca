"""The agent as a real process: CLI, signals, no orphan trainers, recovery after a hard kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from test_agent_support import (BRIDGE, KEY, WAIT_S, FakeOrchestrator, agent_env, make_spec, pid_alive, wait_for,
                                write_fake_trainer)


@pytest.fixture()
def orch():
    o = FakeOrchestrator()
    yield o
    o.close()


def start_agent(tmp: Path, orch: FakeOrchestrator, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "trainyard_worker", "--connect", orch.endpoint, "--state-dir", str(tmp / "state"),
           "--host", "proc-host", "--heartbeat-ms", str(orch.hb_ms), "--liveness", str(orch.liveness), *extra]
    e = env or agent_env(TRAINYARD_TRAINER_CMD=write_fake_trainer(tmp))
    return subprocess.Popen(cmd, cwd=tmp, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"agent did not exit:\n{err}")
    return proc.returncode, err


def test_refuses_to_start_without_a_key(tmp_path: Path) -> None:
    env = agent_env()
    del env["TRAINYARD_WORKER_KEY"]
    r = subprocess.run([sys.executable, "-m", "trainyard_worker", "--connect", "tcp://127.0.0.1:1"], cwd=tmp_path,
                       env=env, capture_output=True, text=True, timeout=WAIT_S)
    assert r.returncode == 2
    assert "TRAINYARD_WORKER_KEY" in r.stderr and "--key-file" in r.stderr
    assert "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "trainyard_worker", "--connect", "tcp://127.0.0.1:1", "--key-file",
                        str(tmp_path / "missing.key")], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=WAIT_S)
    assert r.returncode == 2 and "missing.key" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "trainyard_worker", "--connect", "nonsense"], cwd=tmp_path,
                       env=agent_env(), capture_output=True, text=True, timeout=WAIT_S)
    assert r.returncode == 2 and "--connect" in r.stderr and "Traceback" not in r.stderr


def test_the_agent_process_does_not_import_torch() -> None:
    code = "import sys, trainyard_worker.agent, trainyard_worker.__main__; print('torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], env=agent_env(), capture_output=True, text=True, timeout=WAIT_S)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_key_file_and_sigterm_stops_trainers_and_exits_0(tmp_path: Path, orch: FakeOrchestrator) -> None:
    key_file = tmp_path / "worker.key"
    key_file.write_bytes(KEY + b"\n")
    env = agent_env(TRAINYARD_TRAINER_CMD=write_fake_trainer(tmp_path))
    env["TRAINYARD_WORKER_KEY"] = "wrong-key-overridden-by-the-file"
    proc = start_agent(tmp_path, orch, "--key-file", str(key_file), "--labels", "a, b", env=env)
    try:
        hello = orch.handshake()
        assert hello.content["host"] == "proc-host" and hello.content["labels"] == ["a", "b"]
        assert hello.content["pid"] == proc.pid
        pidfile = tmp_path / "trainer.pid"
        orch.send("assign", {"run_id": "run-t", "attempt": 1, "spec": make_spec("sleep", pidfile=str(pidfile)),
                             "devices": [-1], "resume_from": None})
        orch.expect("accepted")
        pid = int(orch.wait_for(lambda: pidfile.exists() and pidfile.read_text(), what="trainer pid"))
        assert pid_alive(pid)
        proc.send_signal(signal.SIGTERM)
        fin = orch.expect("finished", lambda m: m.header["run_id"] == "run-t")
        assert fin.content["status"] == "cancelled"  # the trainer stopped at its step boundary
        code, err = finish(proc)
        assert code == 0, err
        assert not pid_alive(pid)
        assert KEY.decode() not in err and "wrong-key" not in err  # the key is never logged
    finally:
        if proc.poll() is None:
            proc.kill()


def test_sigkill_of_the_agent_takes_its_trainers_down_and_a_restart_reports_them(tmp_path: Path,
                                                                                  orch: FakeOrchestrator) -> None:
    proc = start_agent(tmp_path, orch)
    pidfile = tmp_path / "trainer.pid"
    try:
        orch.handshake()
        orch.send("assign", {"run_id": "run-o", "attempt": 3, "spec": make_spec("ignore-term", pidfile=str(pidfile)),
                             "devices": [-1], "resume_from": None})
        orch.expect("log", lambda m: m.header["run_id"] == "run-o")
        pid = int(orch.wait_for(lambda: pidfile.exists() and pidfile.read_text(), what="trainer pid"))
        proc.kill()
        proc.communicate(timeout=WAIT_S)
        wait_for(lambda: not pid_alive(pid), what="the orphaned trainer to die (PR_SET_PDEATHSIG)")
    finally:
        if proc.poll() is None:
            proc.kill()
    orch.close_socket()
    orch.restart()
    proc2 = start_agent(tmp_path, orch)
    try:
        hello = orch.expect("hello")
        assert hello.content["runs"] == [{"run_id": "run-o", "last_seq": 3, "state": "finished"}]
        orch.welcome(acks={"run-o": 2})
        fin = orch.expect("finished", lambda m: m.header.get("run_id") == "run-o")
        assert fin.header["seq"] == 3
        assert fin.content["status"] == "failed" and "attempt 3" in fin.content["error"]
        assert fin.content["interrupted"] is True  # the orchestrator resumes it rather than failing it
        proc2.send_signal(signal.SIGINT)
        code, err = finish(proc2)
        assert code == 0, err
    finally:
        if proc2.poll() is None:
            proc2.kill()


def test_runs_from_python_bridge_as_cwd(tmp_path: Path, orch: FakeOrchestrator) -> None:
    env = agent_env()
    env.pop("PYTHONPATH")
    proc = subprocess.Popen([sys.executable, "-m", "trainyard_worker", "--connect", orch.endpoint, "--state-dir",
                             str(tmp_path / "state"), "--cpu-slots", "2"], cwd=BRIDGE, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        hello = orch.expect("hello")
        assert hello.content["cpu_slots"] == 2
        os.kill(proc.pid, signal.SIGTERM)
        code, err = finish(proc)
        assert code == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
