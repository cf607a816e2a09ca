"""The envelope codec against the shared vectors (the same file the jest tests read), JS-exact JSON, and the
validation of what workers receive."""

from __future__ import annotations

import base64
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BRIDGE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BRIDGE))

from trainyard_worker import protocol  # noqa: E402
from trainyard_worker.protocol import ContentError, DecodeError  # noqa: E402
from conftest import skip_unless

VECTORS_PATH = BRIDGE.parent / "test" / "vectors" / "wire" / "vectors.json"
VECTORS = json.loads(VECTORS_PATH.read_text("utf-8"))
KEY = VECTORS["key"].encode()


def frames_of(v: dict) -> list[bytes]:
    return [base64.b64decode(f) for f in v["frames_b64"]]


def test_vector_file_matches_the_constants() -> None:
    assert VECTORS["max_message_bytes"] == protocol.MAX_MESSAGE_BYTES
    valid = [v for v in VECTORS["vectors"] if v["valid"]]
    invalid = [v for v in VECTORS["vectors"] if not v["valid"]]
    assert len(valid) >= 5 and len(invalid) >= 10
    assert {v["reason"] for v in invalid} <= set(protocol.DECODE_REASONS)


@pytest.mark.parametrize("vector", [v for v in VECTORS["vectors"] if v["valid"]], ids=lambda v: v["name"])
def test_valid_vectors_decode_and_reencode_byte_for_byte(vector: dict) -> None:
    frames = frames_of(vector)
    msg = protocol.decode(KEY, frames)
    assert msg.header == vector["header"]
    assert msg.content == vector["content"]
    assert msg.buffers == frames[4:]
    assert protocol.encode(KEY, msg.header, msg.content, msg.buffers) == frames
    # also from the expected values, not only from what we decoded
    assert protocol.encode(KEY, vector["header"], vector["content"], frames[4:]) == frames


@pytest.mark.parametrize("vector", [v for v in VECTORS["vectors"] if not v["valid"]], ids=lambda v: v["name"])
def test_invalid_vectors_fail_with_the_same_reason_as_ts(vector: dict) -> None:
    with pytest.raises(DecodeError) as exc:
        protocol.decode(KEY, frames_of(vector))
    assert exc.value.reason == vector["reason"]


def signed(header: bytes, content: bytes, key: bytes = KEY) -> list[bytes]:
    return [b"TY1", protocol.sign(key, header, content).encode(), header, content]


def reason(frames: list) -> str:
    with pytest.raises(DecodeError) as exc:
        protocol.decode(KEY, frames)
    return exc.value.reason


def test_decode_edge_cases() -> None:
    h = protocol.js_dumps(protocol.make_header("s", "ack")).encode()
    assert reason(signed(h, b"x" * protocol.MAX_MESSAGE_BYTES)) == "oversized"
    assert reason(signed(h, b'{"a":NaN}')) == "content_json"  # JSON.parse refuses NaN
    assert reason(signed(b"[]", b"{}")) == "header_json"
    assert reason(signed(b'{"msg_id":"m","session":"s","type":"ack","date":"d"}', b"{}")) == "version"
    assert reason(signed(b'{"msg_id":"m","session":"s","type":"ack","version":true,"date":"d"}', b"{}")) == "version"
    assert reason(signed(b'{"msg_id":1,"session":"s","type":"ack","version":1,"date":"d"}', b"{}")) == "header_fields"
    bad_seq = b'{"msg_id":"m","session":"s","type":"log","version":1,"date":"d","run_id":"r","seq":1.5}'
    assert reason(signed(bad_seq, b"{}")) == "header_fields"
    assert reason([b"TY1", 5, h, b"{}"]) == "frames"
    # a float version equal to 1 is what JSON.parse("1.0") gives: accepted like in JS
    ok = b'{"msg_id":"m","session":"s","type":"log","version":1.0,"date":"d","run_id":"r","seq":2.0}'
    msg = protocol.decode(KEY, signed(ok, b'{"level":"info","message":"x"}'))
    assert msg.header["seq"] == 2 and isinstance(msg.header["seq"], int)
    # invalid UTF-8 becomes U+FFFD like Buffer.toString('utf8'), it does not crash the decoder
    msg = protocol.decode(KEY, signed(h, b'{"reason":"\xff"}'))
    assert msg.content == {"reason": "\ufffd"}


def test_make_header_and_roundtrip() -> None:
    header = protocol.make_header("sess", "metrics", run_id="r-1", seq=3)
    assert header["version"] == 1 and header["run_id"] == "r-1" and header["seq"] == 3
    assert header["date"].endswith("Z") and len(header["date"]) == len("2026-12-04T12:00:00.000Z")
    content = {"points": [{"key": "train_loss", "step": 1, "epoch": 1, "value": float("nan"), "wall_time": 1.5}]}
    msg = protocol.decode(KEY, protocol.encode(KEY, header, content))
    assert msg.content["points"][0]["value"] is None  # NaN travels as null, like JSON.stringify
    assert protocol.make_header("s", "hello").keys() == {"msg_id", "session", "type", "version", "date"}


JS_NUMBERS = [
    (0.0, "0"), (-0.0, "0"), (1.0, "1"), (-3.0, "-3"), (0.5, "0.5"), (123.456, "123.456"), (1e20, "100000000000000000000"),
    (1e21, "1e+21"), (1.5e300, "1.5e+300"), (1e-6, "0.000001"), (1.5e-7, "1.5e-7"), (1e-7, "1e-7"), (0.00001, "0.00001"),
    (1796392800.25, "1796392800.25"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
    (float("inf"), "null"), (float("-inf"), "null"), (float("nan"), "null"), (0.1 + 0.2, "0.30000000000000004"),
    (123456789012345680000.0, "123456789012345680000"), (-1.25e-5, "-0.0000125"),
]


@pytest.mark.parametrize("value,text", JS_NUMBERS)
def test_js_number_formatting(value: float, text: str) -> None:
    assert protocol.js_dumps(value) == text


def test_js_dumps_structure_and_strings() -> None:
    obj = {"a": [1, 2.0, True, None, "é\n\"\\\u0001\u007f"], "b": {"c": "日本"}, 3: "int key"}
    assert protocol.js_dumps(obj) == '{"a":[1,2,true,null,"é\\n\\"\\\\\\u0001\x7f"],"b":{"c":"日本"},"3":"int key"}'
    assert protocol.js_dumps("\ud800x") == '"\\ud800x"'  # lone surrogate escaped like JSON.stringify
    with pytest.raises(TypeError):
        protocol.js_dumps({"x": object()})


@skip_unless(shutil.which("node") is not None, "node is not installed")
def test_js_dumps_matches_node_json_stringify() -> None:
    rng = random.Random(7)
    values: list = []
    for _ in range(400):
        values.append(rng.uniform(-1, 1) * 10 ** rng.randint(-30, 30))
    values += [rng.random() for _ in range(100)] + [float(rng.randint(-10**6, 10**6)) for _ in range(50)]
    values += [1e-7 * k for k in range(1, 30)] + [10.0 ** k for k in range(-12, 25)]
    values += ["tab\tnull\x00del\x7f", "emoji 😀", "\u2028\u2029", "\ud83d", "quote\"back\\slash"]
    values += [{"nested": [1.5, {"k": -0.0}], "empty": {}, "list": []}]
    payload = json.dumps(values)  # Python writes repr floats; JS parses them to the same doubles
    script = "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{for(const v of JSON.parse(s))" \
             "process.stdout.write(JSON.stringify(v)+'\\n')})"
    r = subprocess.run(["node", "-e", script], input=payload.encode(), capture_output=True, timeout=60, check=True)
    js_lines = r.stdout.decode("utf-8").split("\n")[:-1]
    assert len(js_lines) == len(values)
    for v, js in zip(values, js_lines):
        assert protocol.js_dumps(v) == js, (v, js)


def test_sign_is_hmac_sha256_hex() -> None:
    import hashlib
    import hmac
    sig = protocol.sign(b"k", b"h", b"c")
    assert sig == hmac.new(b"k", b"hc", hashlib.sha256).hexdigest() and len(sig) == 64


# ---- inbound content validation ---------------------------------------------------------------------

def test_validate_welcome() -> None:
    c = protocol.validate_inbound("welcome", {"heartbeat_interval_ms": 1000.0, "liveness": 3, "acks": {"r": 4},
                                              "cancel": ["x"], "future_field": 1})
    assert c == {"heartbeat_interval_ms": 1000, "liveness": 3, "acks": {"r": 4}, "cancel": ["x"], "future_field": 1}
    assert protocol.validate_inbound("welcome", {"heartbeat_interval_ms": 500, "liveness": 2})["acks"] == {}
    for bad in ({"liveness": 3}, {"heartbeat_interval_ms": "1000", "liveness": 3},
                {"heartbeat_interval_ms": 1000, "liveness": 0}, {"heartbeat_interval_ms": 1000, "liveness": True},
                {"heartbeat_interval_ms": 1000, "liveness": 3, "acks": {"r": -1}},
                {"heartbeat_interval_ms": 1000, "liveness": 3, "acks": []},
                {"heartbeat_interval_ms": 1000, "liveness": 3, "cancel": [1]}):
        with pytest.raises(ContentError):
            protocol.validate_inbound("welcome", bad)


def test_validate_assign_cancel_ack_disconnect() -> None:
    good = {"run_id": "r", "attempt": 1, "spec": {}, "devices": [0, 1], "resume_from": None, "extra": True}
    assert protocol.validate_inbound("assign", good)["devices"] == [0, 1]
    for field, value in (("run_id", ""), ("attempt", -1), ("spec", []), ("devices", []), ("devices", [-2]),
                         ("devices", ["0"]), ("resume_from", 3)):
        with pytest.raises(ContentError, match=field):
            protocol.validate_inbound("assign", {**good, field: value})
    assert protocol.validate_inbound("ack", {"run_id": "r", "seq": 4.0}) == {"run_id": "r", "seq": 4}
    with pytest.raises(ContentError, match="seq"):
        protocol.validate_inbound("ack", {"run_id": "r", "seq": True})
    with pytest.raises(ContentError, match="run_id"):
        protocol.validate_inbound("cancel", {"reason": "x"})
    assert protocol.validate_inbound("cancel", {"run_id": "r"})["reason"] == ""
    assert protocol.validate_inbound("disconnect", {})["reason"] == ""
    assert protocol.validate_inbound("heartbeat", {"anything": 1}) == {"anything": 1}
    with pytest.raises(ContentError):
        protocol.validate_inbound("metrics", {"points": []})


def test_js_number_agrees_with_float_parsing() -> None:
    rng = random.Random(1)
    for _ in range(2000):
        x = rng.uniform(-1, 1) * 10 ** rng.randint(-320, 300)
        text = protocol.js_number(x)
        assert float(text) == x  # round-trips exactly


# ---- outbound trainer events: what the orchestrator's validator accepts ----------------------------

def test_sanitize_keeps_valid_events_untouched() -> None:
    events = {
        "started": {"pid": 1, "device": "cpu", "attempt": 1, "resumed_from_epoch": None, "params": 11689512,
                    "dataset": {"fingerprint": "f", "train_size": 10, "test_size": 5, "class_names": ["a"],
                                "input_shape": [3, 36, 36]}},
        "metrics": {"points": [{"key": "train_loss", "step": 3, "epoch": 1, "value": 0.25, "wall_time": 1.5}]},
        "log": {"level": "error", "message": "boom"},
        "evaluation": {"epoch": 1, "split": "test", "class_names": ["a", "b"], "matrix": [[3, 1], [0, 4]],
                       "misclassified": [{"index": 7, "true": 0, "pred": 1}], "loss": 0.5, "samples": 8},
        "checkpoint": {"epoch": 1, "path": "/x/ckpt.pt", "bytes": 1024, "final": False},
        "finished": {"status": "skipped", "error": "no weights in ~/.cache/torch", "epochs_completed": 0},
    }
    for type_, content in events.items():
        assert protocol.sanitize_run_event(type_, content) == (type_, content)


def test_sanitize_repairs_what_it_can() -> None:
    t, c = protocol.sanitize_run_event("metrics", {"points": [
        {"key": "a", "step": 1, "epoch": 1, "value": float("nan"), "wall_time": 1.0},
        {"key": "a", "step": 1, "epoch": 1, "value": None, "wall_time": 1.0},
        {"key": "b" * 65, "step": 1, "epoch": 1, "value": 1.0, "wall_time": 1.0},
        {"key": "a", "step": 1.5, "epoch": 1, "value": 1.0, "wall_time": 1.0},
        {"key": "ok", "step": 2.0, "epoch": 1, "value": 2.0, "wall_time": 1.0}]})
    assert t == "metrics" and [p["key"] for p in c["points"]] == ["ok"]
    t, c = protocol.sanitize_run_event("log", {"level": "LOUD", "message": "z" * 200_000})
    assert t == "log" and c["level"] == "info" and len(c["message"]) <= protocol.MAX_LOG_MESSAGE
    assert c["message"].endswith("[truncated]")
    t, c = protocol.sanitize_run_event("finished", {"status": "ok", "error": 5, "epochs_completed": -1}, 3)
    assert t == "finished" and c["status"] == "failed" and "'ok'" in c["error"] and c["epochs_completed"] == 3
    t, c = protocol.sanitize_run_event("finished", {"status": "cancelled", "error": None, "epochs_completed": 2})
    assert c == {"status": "cancelled", "error": None, "epochs_completed": 2}


@pytest.mark.parametrize("type_,content,field", [
    ("metrics", {"points": [{"key": "a", "step": 1, "epoch": 1, "value": float("inf"), "wall_time": 1}]}, "point"),
    ("metrics", {"points": "x"}, "points"),
    ("evaluation", {"epoch": 1, "class_names": ["a"], "matrix": [[1, 2]], "misclassified": [], "loss": 0.1,
                    "samples": 3}, "matrix"),
    ("evaluation", {"epoch": 1, "class_names": ["a"], "matrix": [[1]], "misclassified": [], "loss": None,
                    "samples": 1}, "loss"),
    ("checkpoint", {"epoch": 1, "path": "p", "bytes": 1, "final": "yes"}, "final"),
    ("started", {"pid": 1, "device": "cpu", "attempt": 1, "params": 1, "dataset": {}}, "dataset"),
])
def test_sanitize_replaces_the_unrepairable_with_a_warning(type_: str, content: dict, field: str) -> None:
    t, c = protocol.sanitize_run_event(type_, content)
    assert t == "log" and c["level"] == "warning"
    assert f"invalid {type_}" in c["message"] and field in c["message"]
