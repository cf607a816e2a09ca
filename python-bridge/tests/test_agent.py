"""The agent in-process against a fake orchestrator on a real ROUTER socket, with fake trainer processes."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from test_agent_support import KEY, FakeOrchestrator, agent_config, make_spec, pid_alive, running_agent
from trainyard_worker import protocol


@pytest.fixture()
def orch():
    o = FakeOrchestrator()
    yield o
    o.close()


def assign(orch: FakeOrchestrator, run_id: str, spec: dict, devices=(-1,), attempt: int = 1) -> None:
    orch.send("assign", {"run_id": run_id, "attempt": attempt, "spec": spec, "devices": list(devices),
                         "resume_from": None})


def ack_all(orch: FakeOrchestrator, msgs: list[protocol.Message]) -> None:
    for m in msgs:
        orch.send("ack", {"run_id": m.header["run_id"], "seq": m.header["seq"]})


def test_hello_welcome_and_heartbeats(tmp_path: Path, orch: FakeOrchestrator) -> None:
    cfg = agent_config(tmp_path, orch)
    with running_agent(cfg) as agent:
        hello = orch.handshake()
        c = hello.content
        assert c["host"] == "test-host" and c["labels"] == ["cpu", "test"] and c["cpu_slots"] == 1
        assert c["worker_id"] == (tmp_path / "state" / "worker_id").read_text().strip()
        assert str(uuid.UUID(hello.header["session"])) == hello.header["session"] == agent.session
        cpu = [d for d in c["devices"] if d["index"] == -1]
        assert len(cpu) == 1 and cpu[0]["kind"] == "cpu" and cpu[0]["memory_total_mb"] > 0
        assert not [d for d in c["devices"] if d["kind"] == "cuda"]  # nvidia-smi is absent in this test
        assert set(c["versions"]) == {"python", "torch", "torchvision", "cuda", "worker"}
        assert c["runs"] == [] and isinstance(c["pid"], int)
        hb1 = orch.expect("heartbeat")
        hb2 = orch.expect("heartbeat")
        for hb in (hb1, hb2):
            assert set(hb.content) == {"devices", "cpu_pct", "mem_used_mb", "runs"}
            assert hb.content["runs"] == []
        assert agent.state == "ready"
        worker_id = c["worker_id"]
    # the worker id survives a restart; the session does not
    with running_agent(agent_config(tmp_path, orch)) as agent2:
        hello2 = orch.expect("hello")
        assert hello2.content["worker_id"] == worker_id
        assert hello2.header["session"] != hello.header["session"]


def test_assign_runs_a_trainer_and_acks_shrink_the_spool(tmp_path: Path, orch: FakeOrchestrator) -> None:
    with running_agent(agent_config(tmp_path, orch)) as agent:
        orch.handshake()
        assign(orch, "run-1", make_spec("quick"))
        orch.expect("accepted", lambda m: m.content == {"run_id": "run-1"})
        msgs = orch.collect_run("run-1")
        types = [m.type for m in msgs]
        assert types == ["started", "log", "metrics", "metrics", "metrics", "checkpoint", "finished"]
        assert [m.header["seq"] for m in msgs] == list(range(1, len(msgs) + 1))
        assert msgs[-1].content == {"status": "succeeded", "error": None, "epochs_completed": 1}
        info = json.loads(msgs[1].content["message"])
        assert info["cvd"] == ""  # CPU run: no GPU visible to the trainer
        assert info["key_leaked"] is False
        run_dir = tmp_path / "state" / "runs" / "run-1"
        assert Path(info["cwd"]).resolve() == run_dir.resolve()
        assert info["job"] == {"run_id": "run-1", "attempt": 1, "spec": make_spec("quick"), "devices": [-1],
                               "resume_from": None, "run_dir": str(run_dir.resolve())}
        assert json.loads((run_dir / "job.json").read_text()) == info["job"]
        assert [e.seq for e in agent.spool.pending("run-1")] == list(range(1, len(msgs) + 1))
        ack_all(orch, msgs[:3])
        orch.wait_for(lambda: [e.seq for e in agent.spool.pending("run-1")] == list(range(4, len(msgs) + 1)),
                      what="partial ack")
        ack_all(orch, msgs[3:])
        orch.wait_for(lambda: agent.spool.runs() == [], what="spool emptied by acks")
        orch.wait_for(lambda: "run-1" not in agent.active, what="trainer reaped")
        orch.wait_for(lambda: not (tmp_path / "state" / "spool" / "run-1.jsonl").exists(), what="spool compacted")
        assert json.loads((run_dir / "state.json").read_text())["state"] == "finished"
        # the CPU slot is free again
        assign(orch, "run-2", make_spec("quick"))
        orch.expect("accepted", lambda m: m.content == {"run_id": "run-2"})
        msgs2 = orch.collect_run("run-2")
        assert msgs2[0].header["seq"] == 1  # seq is per run


def test_heartbeats_carry_run_progress(tmp_path: Path, orch: FakeOrchestrator) -> None:
    with running_agent(agent_config(tmp_path, orch, cancel_grace_s=10.0)):
        orch.handshake()
        assign(orch, "run-p", make_spec("sleep"))
        hb = orch.expect("heartbeat", lambda m: m.content["runs"] and m.content["runs"][0]["step"] == 5)
        assert hb.content["runs"] == [{"run_id": "run-p", "epoch": 2, "step": 5, "steps_per_epoch": 10}]
        orch.send("cancel", {"run_id": "run-p", "reason": "test over"})
        orch.expect("finished", lambda m: m.header["run_id"] == "run-p")


def test_cancel_lets_the_trainer_finish_cancelled(tmp_path: Path, orch: FakeOrchestrator) -> None:
    pidfile = tmp_path / "trainer.pid"
    with running_agent(agent_config(tmp_path, orch)) as agent:
        orch.handshake()
        assign(orch, "run-c", make_spec("sleep", pidfile=str(pidfile)))
        orch.expect("accepted")
        orch.expect("log", lambda m: m.header["run_id"] == "run-c")
        pid = int(orch.wait_for(lambda: pidfile.exists() and pidfile.read_text(), what="trainer pid"))
        orch.send("cancel", {"run_id": "run-c", "reason": "user"})
        msgs = orch.collect_run("run-c")
        assert [m.type for m in msgs[-3:]] == ["log", "checkpoint", "finished"]
        assert msgs[-3].content["message"] == "sigterms=1"
        assert msgs[-1].content["status"] == "cancelled"
        assert msgs[-1].content["error"] is None  # the trainer's own report, not the agent's
        orch.wait_for(lambda: not pid_alive(pid), what="trainer exit")
        orch.wait_for(lambda: "run-c" not in agent.active, what="run released")


def test_cancel_of_a_trainer_without_handler_is_reported_by_the_agent(tmp_path: Path, orch: FakeOrchestrator) -> None:
    with running_agent(agent_config(tmp_path, orch)):
        orch.handshake()
        assign(orch, "run-n", make_spec("sleep-noterm"))
        orch.expect("log", lambda m: m.header["run_id"] == "run-n")
        orch.send("cancel", {"run_id": "run-n", "reason": "user"})
        fin = orch.expect("finished", lambda m: m.header["run_id"] == "run-n")
        assert fin.content["status"] == "cancelled"
        assert "SIGTERM" in fin.content["error"] and "user" in fin.content["error"]


def test_cancel_escalates_to_sigkill_after_the_grace_period(tmp_path: Path, orch: FakeOrchestrator) -> None:
    pidfile = tmp_path / "trainer.pid"
    with running_agent(agent_config(tmp_path, orch, cancel_grace_s=0.5)) as agent:
        orch.handshake()
        assign(orch, "run-k", make_spec("ignore-term", pidfile=str(pidfile)))
        orch.expect("log", lambda m: m.header["run_id"] == "run-k")
        pid = int(orch.wait_for(lambda: pidfile.exists() and pidfile.read_text(), what="trainer pid"))
        orch.send("cancel", {"run_id": "run-k", "reason": "user"})
        fin = orch.expect("finished", lambda m: m.header["run_id"] == "run-k")
        assert fin.content["status"] == "cancelled"
        assert "SIGKILL" in fin.content["error"]
        assert fin.content["epochs_completed"] == 0
        assert not pid_alive(pid)
        orch.wait_for(lambda: "run-k" not in agent.active, what="run released")


def test_a_crashing_trainer_is_reported_failed_with_its_stderr(tmp_path: Path, orch: FakeOrchestrator) -> None:
    with running_agent(agent_config(tmp_path, orch)):
        orch.handshake()
        assign(orch, "run-x", make_spec("crash"))
        fin = orch.expect("finished", lambda m: m.header["run_id"] == "run-x")
        assert fin.content["status"] == "failed"
        assert "exit code 3" in fin.content["error"]
        assert "RuntimeError: fake trainer exploded" in fin.content["error"]
        assert fin.content["epochs_completed"] == 2  # last known, from the checkpoint event
        log = (tmp_path / "state" / "runs" / "run-x" / "trainer.log").read_text()
        assert "fake trainer exploded" in log


def test_rejections(tmp_path: Path, orch: FakeOrchestrator) -> None:
    with running_agent(agent_config(tmp_path, orch)) as agent:
        orch.handshake()
        assign(orch, "busy", make_spec("sleep"))
        orch.expect("accepted", lambda m: m.content["run_id"] == "busy")
        # a repeated assign of the same attempt is answered the same way, without a second trainer
        assign(orch, "busy", make_spec("sleep"))
        orch.expect("accepted", lambda m: m.content["run_id"] == "busy")
        assign(orch, "busy", make_spec("sleep"), attempt=2)
        r = orch.expect("rejected", lambda m: m.content["run_id"] == "busy")
        assert "attempt 1" in r.content["reason"]

        def rejected(run_id: str) -> str:
            return orch.expect("rejected", lambda m: m.content["run_id"] == run_id).content["reason"]

        assign(orch, "second", make_spec("quick"))
        assert "CPU slot" in rejected("second")
        assign(orch, "gpu", make_spec("quick", gpus=1), devices=[0])
        assert "GPU 0 does not exist" in rejected("gpu")
        assign(orch, "mismatch", make_spec("quick", gpus=0), devices=[0])
        assert "devices" in rejected("mismatch")
        spec = make_spec("quick")
        del spec["train"]
        assign(orch, "nospec", spec)
        assert "spec.train" in rejected("nospec")
        spec = make_spec("quick")
        spec["train"]["epochs"] = 0
        assign(orch, "epochs", spec)
        assert "spec.train.epochs" in rejected("epochs")
        assign(orch, "../evil", make_spec("quick"))
        assert "run_id" in rejected("../evil")
        orch.send("assign", {"run_id": "badtypes", "attempt": 1, "spec": make_spec(), "devices": "cpu",
                             "resume_from": None})
        assert "devices" in rejected("badtypes")
        assert agent.counters["dropped_invalid_content"] == 1
        assert list(agent.active) == ["busy"]
        assert not (tmp_path / "evil").exists()
        orch.send("cancel", {"run_id": "busy", "reason": "done"})
        orch.expect("finished", lambda m: m.header["run_id"] == "busy")


def test_bad_messages_are_dropped_and_the_agent_keeps_working(tmp_path: Path, orch: FakeOrchestrator) -> None:
    with running_agent(agent_config(tmp_path, orch)) as agent:
        orch.handshake()
        orch.expect("heartbeat")
        orch.send("assign", {"run_id": "forged", "attempt": 1, "spec": make_spec(), "devices": [-1],
                             "resume_from": None}, key=b"not-the-key")
        frames = protocol.encode(KEY, protocol.make_header(orch.session, "ack"), {"run_id": "r", "seq": 1})
        orch.send_raw([b"TY0", *frames[1:]])  # bad magic
        orch.send_raw(frames[:3])  # missing content frame
        orch.send_raw([frames[0], frames[1], b"{not json", frames[3]])
        orch.send("hello", {"host": "x"})  # a type the orchestrator never sends to workers
        orch.send("ack", {"run_id": 5, "seq": "x"})  # wrong content types
        orch.wait_for(lambda: agent.counters["dropped_invalid_content"] == 1, what="drops counted")
        assert agent.counters["dropped_signature"] == 2  # forged key; bad JSON has a stale signature
        assert agent.counters["dropped_magic"] == 1
        assert agent.counters["dropped_frames"] == 1
        assert agent.counters["dropped_unexpected_type"] == 1
        assert agent.counters["sent_accepted"] == 0
        assign(orch, "real", make_spec("quick"))
        orch.expect("accepted", lambda m: m.content["run_id"] == "real")
        fin = orch.collect_run("real")[-1]
        assert fin.content["status"] == "succeeded"
        assert agent.state == "ready"


def test_orchestrator_restart_reconnects_and_replays_with_the_same_seqs(tmp_path: Path, orch: FakeOrchestrator) -> None:
    with running_agent(agent_config(tmp_path, orch)) as agent:
        orch.handshake()
        assign(orch, "run-r", make_spec("quick"))
        orch.expect("accepted")
        first = orch.collect_run("run-r")
        n = len(first)
        ack_all(orch, first[:2])
        orch.wait_for(lambda: agent.spool.acked("run-r") == 2, what="acks 1..2")
        orch.wait_for(lambda: "run-r" not in agent.active, what="trainer done")
        # the orchestrator dies: the agent notices the silence and backs off; then it comes back
        orch.close_socket()
        orch.wait_for(lambda: agent.counters["reconnects"] >= 1, what="agent noticed the dead orchestrator")
        orch.restart()
        hello = orch.expect("hello")
        assert hello.content["runs"] == [{"run_id": "run-r", "last_seq": n, "state": "finished"}]
        orch.welcome(acks={"run-r": 3})  # the new orchestrator had stored up to 3
        replay = [orch.expect(first[i].type, lambda m: m.header.get("run_id") == "run-r") for i in range(3, n)]
        assert [m.header["seq"] for m in replay] == list(range(4, n + 1))
        assert [m.header["msg_id"] for m in replay] == [m.header["msg_id"] for m in first[3:]]
        assert [m.content for m in replay] == [m.content for m in first[3:]]
        assert all(m.header["session"] == agent.session for m in replay)
        orch.send("ack", {"run_id": "run-r", "seq": n})
        orch.wait_for(lambda: agent.spool.runs() == [], what="spool emptied")


def test_disconnect_makes_the_agent_say_hello_again(tmp_path: Path, orch: FakeOrchestrator) -> None:
    with running_agent(agent_config(tmp_path, orch)) as agent:
        first = orch.handshake()
        orch.expect("heartbeat")
        orch.send("disconnect", {"reason": "unknown worker"})
        again = orch.expect("hello")
        assert again.header["session"] == first.header["session"]
        orch.welcome()
        orch.expect("heartbeat")
        assert agent.state == "ready"


def test_welcome_cancel_stops_a_running_trainer(tmp_path: Path, orch: FakeOrchestrator) -> None:
    with running_agent(agent_config(tmp_path, orch)):
        orch.handshake()
        assign(orch, "run-w", make_spec("sleep"))
        orch.expect("log", lambda m: m.header["run_id"] == "run-w")
        orch.send("disconnect", {"reason": "reassigned elsewhere"})
        hello = orch.expect("hello")
        assert {"run_id": "run-w", "last_seq": 2, "state": "running"} in hello.content["runs"]
        orch.welcome(acks={"run-w": 2}, cancel=["run-w"])
        fin = orch.expect("finished", lambda m: m.header["run_id"] == "run-w")
        assert fin.content["status"] == "cancelled"


def test_agent_restart_continues_seq_and_replays_the_spool(tmp_path: Path, orch: FakeOrchestrator) -> None:
    cfg = agent_config(tmp_path, orch)
    with running_agent(cfg) as agent:
        orch.handshake()
        assign(orch, "run-s", make_spec("quick"))
        msgs = orch.collect_run("run-s")
        n = len(msgs)
        orch.wait_for(lambda: "run-s" not in agent.active, what="trainer done")
    # nothing was acknowledged: a new agent process offers everything again
    with running_agent(agent_config(tmp_path, orch)) as agent2:
        hello = orch.expect("hello")
        assert hello.content["runs"] == [{"run_id": "run-s", "last_seq": n, "state": "finished"}]
        orch.welcome(acks={"run-s": n - 1})
        last = orch.expect("finished", lambda m: m.header.get("run_id") == "run-s")
        assert last.header["seq"] == n and last.header["msg_id"] == msgs[-1].header["msg_id"]
        orch.send("ack", {"run_id": "run-s", "seq": n})
        orch.wait_for(lambda: agent2.spool.runs() == [], what="acked")
        # a second attempt of the same run on this worker continues the run's seq numbering
        assign(orch, "run-s", make_spec("quick"), attempt=2)
        again = orch.collect_run("run-s")
        assert again[0].header["seq"] == n + 1


def write_fake_smi(tmp: Path) -> str:
    smi = tmp / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho '0, Fake GPU A, 16384, 10, 0, 30'\necho '1, Fake GPU B, 16384, 10, 0, 31'\n")
    smi.chmod(0o755)
    return str(smi)


def test_gpu_assignments_set_cuda_visible_devices(tmp_path: Path, orch: FakeOrchestrator,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    with running_agent(agent_config(tmp_path, orch, cpu_slots=0), nvidia_smi=write_fake_smi(tmp_path)) as agent:
        hello = orch.handshake()
        assert [(d["index"], d["kind"], d["name"]) for d in hello.content["devices"]][:2] == [
            (0, "cuda", "Fake GPU A"), (1, "cuda", "Fake GPU B")]
        hb = orch.expect("heartbeat", lambda m: len(m.content["devices"]) == 2)
        assert hb.content["devices"][1] == {"index": 1, "utilization_pct": 0.0, "memory_used_mb": 10,
                                            "memory_total_mb": 16384, "temperature_c": 31.0}
        assign(orch, "g1", make_spec("sleep", gpus=1), devices=[1])
        log = orch.expect("log", lambda m: m.header["run_id"] == "g1")
        assert json.loads(log.content["message"])["cvd"] == "1"
        assign(orch, "g1b", make_spec("sleep", gpus=1), devices=[1])
        assert "GPU 1 is busy with run g1" in orch.expect("rejected").content["reason"]
        big = make_spec("sleep", gpus=1)
        big["resources"]["min_gpu_memory_mb"] = 40000
        assign(orch, "big", big, devices=[0])
        assert "min_gpu_memory_mb" in orch.expect("rejected").content["reason"]
        assign(orch, "cpu", make_spec("quick"))
        assert "no CPU slots" in orch.expect("rejected").content["reason"]
        orch.send("cancel", {"run_id": "g1", "reason": "next"})
        orch.expect("finished", lambda m: m.header["run_id"] == "g1")
        orch.wait_for(lambda: not agent.active, what="GPU released")
        assign(orch, "g2", make_spec("sleep", gpus=2), devices=[0, 1])
        log = orch.expect("log", lambda m: m.header["run_id"] == "g2")
        assert json.loads(log.content["message"])["cvd"] == "0,1"
        orch.send("cancel", {"run_id": "g2", "reason": "done"})
        orch.expect("finished", lambda m: m.header["run_id"] == "g2")


def test_shared_gpus_need_both_runs_to_allow_sharing(tmp_path: Path, orch: FakeOrchestrator,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    with running_agent(agent_config(tmp_path, orch), nvidia_smi=write_fake_smi(tmp_path)):
        orch.handshake()
        shared = make_spec("sleep", gpus=1)
        shared["resources"]["share"] = True
        assign(orch, "s1", shared, devices=[0])
        orch.expect("accepted", lambda m: m.content["run_id"] == "s1")
        assign(orch, "s2", shared, devices=[0])
        orch.expect("accepted", lambda m: m.content["run_id"] == "s2")
        assign(orch, "s3", make_spec("sleep", gpus=1), devices=[0])
        assert "busy" in orch.expect("rejected").content["reason"]
        for r in ("s1", "s2"):
            orch.send("cancel", {"run_id": r, "reason": "done"})
        for r in ("s1", "s2"):
            orch.expect("finished", lambda m, r=r: m.header["run_id"] == r)


def test_a_trainer_that_cannot_start_is_reported_failed(tmp_path: Path, orch: FakeOrchestrator) -> None:
    cfg = agent_config(tmp_path, orch, trainer_cmd=json.dumps([str(tmp_path / "no-such-trainer")]))
    with running_agent(cfg):
        orch.handshake()
        assign(orch, "run-z", make_spec("quick"))
        orch.expect("accepted")
        fin = orch.expect("finished", lambda m: m.header["run_id"] == "run-z")
        assert fin.content["status"] == "failed"
        assert "no-such-trainer" in fin.content["error"] and "exit code 127" in fin.content["error"]


def test_trainer_command_building(tmp_path: Path) -> None:
    import sys

    from trainyard_worker.runner import parse_command_override, trainer_command, trainer_env
    job = tmp_path / "job.json"
    assert trainer_command(job, tmp_path, [-1], None) == [sys.executable, "-m", "trainyard_worker.trainer", "--job",
                                                           str(job)]
    assert trainer_command(job, tmp_path, [0], None)[-3:] == ["trainyard_worker.trainer", "--job", str(job)]
    multi = trainer_command(job, tmp_path, [2, 3], None)
    assert multi[:6] == [sys.executable, "-m", "trainyard_worker.trainer.torchrun", "--standalone", "--nproc_per_node", "2"]
    assert multi[6:] == ["-m", "trainyard_worker.trainer", "--job", str(job)]
    assert trainer_command(job, tmp_path, [-1], "fake --x") == ["fake", "--x", "--job", str(job)]
    assert trainer_command(job, tmp_path, [-1], '["{python}", "t.py", "{job}", "{run_dir}"]') == [
        sys.executable, "t.py", str(job), str(tmp_path)]
    with pytest.raises(ValueError, match="TRAINYARD_TRAINER_CMD"):
        parse_command_override("[1, 2")
    os.environ["TRAINYARD_WORKER_KEY"] = "secret"
    try:
        env = trainer_env([0, 1], "ipc:///tmp/x", job, "r")
    finally:
        del os.environ["TRAINYARD_WORKER_KEY"]
    assert env["CUDA_VISIBLE_DEVICES"] == "0,1" and env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"
    assert env["TRAINYARD_EVENTS_ENDPOINT"] == "ipc:///tmp/x" and "TRAINYARD_WORKER_KEY" not in env
    assert env["PYTHONPATH"].split(":")[0].endswith("python-bridge")


def test_bad_trainer_events_are_ignored(tmp_path: Path, orch: FakeOrchestrator) -> None:
    with running_agent(agent_config(tmp_path, orch)) as agent:
        orch.handshake()
        assign(orch, "run-g", make_spec("garbage"))
        msgs = orch.collect_run("run-g")
        assert [(m.type, m.header["seq"]) for m in msgs] == [("started", 1), ("log", 2), ("metrics", 3), ("log", 4),
                                                             ("log", 5), ("finished", 6)]
        # what the orchestrator would refuse (and so never acknowledge) is repaired or replaced, never sent
        assert msgs[2].content["points"] == [{"key": "train_loss", "step": 2, "epoch": 1, "value": 0.5, "wall_time": 2}]
        assert msgs[3].content["level"] == "warning" and "invalid evaluation" in msgs[3].content["message"]
        assert msgs[4].content["level"] == "info" and len(msgs[4].content["message"]) <= 100_000
        assert msgs[5].content["status"] == "failed" and "great" in msgs[5].content["error"]
        assert msgs[5].content["epochs_completed"] == 0
        # 6 malformed events + 1 replaced + 1 after finished (counted as such or as for a run no longer here)
        orch.wait_for(lambda: agent.counters["bad_events"] == 8, what="bad events counted")
        orch.wait_for(lambda: "run-g" not in agent.active, what="trainer reaped")
        assert agent.state == "ready"


def test_messages_refused_by_a_full_queue_are_sent_later_in_order(tmp_path: Path, orch: FakeOrchestrator) -> None:
    count = 120
    with running_agent(agent_config(tmp_path, orch, send_hwm=4)) as agent:
        orch.handshake()
        assert orch.sock is not None
        orch.sock.rcvhwm = 4
        assign(orch, "run-f", make_spec("flood", count=count, size=256 * 1024))
        # the orchestrator stops reading until the whole run is spooled and sends have been refused
        orch.heartbeat_only(lambda: agent.spool.last_seq("run-f") == count + 3 and agent.counters["send_would_block"])
        msgs = orch.collect_run("run-f", timeout=60)
        assert [m.header["seq"] for m in msgs] == list(range(1, count + 4))
        assert agent.counters["reconnects"] == 0


def test_stopping_the_agent_during_a_cancel_does_not_signal_the_trainer_twice(tmp_path: Path,
                                                                             orch: FakeOrchestrator) -> None:
    with running_agent(agent_config(tmp_path, orch)) as agent:
        orch.handshake()
        assign(orch, "run-2x", make_spec("sleep"))
        orch.expect("log", lambda m: m.header["run_id"] == "run-2x")
        orch.send("cancel", {"run_id": "run-2x", "reason": "user"})
        orch.wait_for(lambda: agent.active["run-2x"].cancel_reason, what="cancel handled")
        agent.stop()  # shutdown while the trainer is still writing its final checkpoint
        msgs = orch.collect_run("run-2x")
        assert msgs[-3].content["message"] == "sigterms=1"
        assert msgs[-1].content["status"] == "cancelled"
