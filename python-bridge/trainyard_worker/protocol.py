"""The signed wire envelope, mirroring src/bridge/envelope.codec.ts and src/contracts/wire.ts.

Frames (after the ROUTER identity): [b"TY1", signature_hex, header_json, content_json, *buffers] with
signature = hex(HMAC-SHA256(key, header_bytes + content_bytes)). The shared vectors in
test/vectors/wire/vectors.json keep this module and the TypeScript codec byte-compatible, so the JSON
encoder below reproduces JS `JSON.stringify` output exactly (number formatting included).
"""

from __future__ import annotations

import decimal
import hashlib
import hmac
import json
import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any, Mapping

PROTOCOL_MAGIC = b"TY1"
PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
SIGNATURE_HEX_LENGTH = 64
MAX_SAFE_INTEGER = 2**53 - 1

MESSAGE_TYPES: tuple[str, ...] = (
    "hello", "heartbeat", "accepted", "rejected", "started", "metrics", "log", "evaluation", "checkpoint",
    "finished", "welcome", "assign", "cancel", "ack", "disconnect",
)
RUN_SCOPED_TYPES: tuple[str, ...] = ("started", "metrics", "log", "evaluation", "checkpoint", "finished")
# What the orchestrator may send to a worker; anything else arriving at the worker is dropped.
WORKER_INBOUND_TYPES: tuple[str, ...] = ("welcome", "heartbeat", "assign", "cancel", "ack", "disconnect")
FINISHED_STATUSES: tuple[str, ...] = ("succeeded", "failed", "cancelled", "skipped")

DECODE_REASONS: tuple[str, ...] = (
    "frames", "magic", "oversized", "signature", "header_json", "header_fields", "content_json",
    "unknown_type", "version",
)


class DecodeError(Exception):
    """A frame set that must be dropped; `reason` is one of DECODE_REASONS (same strings as the TS codec)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class Message:
    header: dict[str, Any]
    content: dict[str, Any]
    buffers: list[bytes] = field(default_factory=list)

    @property
    def type(self) -> str:
        return str(self.header["type"])


# ---- JSON exactly as JS JSON.stringify writes it -------------------------------------------------

_SURROGATE = re.compile("[\ud800-\udfff]")


def _js_string(s: str) -> str:
    out = encode_basestring(s)
    # JSON.stringify escapes lone surrogates (well-formed JSON.stringify); Python would fail on .encode().
    if _SURROGATE.search(out):
        out = _SURROGATE.sub(lambda m: "\\u%04x" % ord(m.group()), out)
    return out


def js_number(x: float) -> str:
    """Number.prototype.toString for a finite double (JSON.stringify writes non-finite as null)."""
    if math.isnan(x) or math.isinf(x):
        return "null"
    if x == 0:
        return "0"  # also -0, which JS prints as 0
    if x.is_integer() and abs(x) < 2**53:  # exact integers; larger ones use the shortest digits below
        return str(int(x))
    # repr() gives the shortest round-trip digits, the same digits JS picks; only the layout differs.
    sign, digits_t, exp = decimal.Decimal(repr(x)).as_tuple()
    digits = "".join(map(str, digits_t)).rstrip("0") or "0"
    exp += len(digits_t) - len(digits)  # type: ignore[operator]
    k = len(digits)
    n = k + int(exp)  # value = 0.digits * 10^n
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mant = digits if k == 1 else digits[0] + "." + digits[1:]
        body = f"{mant}e{'+' if e >= 0 else '-'}{abs(e)}"
    return ("-" if sign else "") + body


def _js_parts(obj: Any, out: list[str]) -> None:
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, str):
        out.append(_js_string(obj))
    elif isinstance(obj, int):
        out.append(str(int(obj)))
    elif isinstance(obj, float):
        out.append(js_number(obj))
    elif isinstance(obj, Mapping):
        out.append("{")
        first = True
        for k, v in obj.items():
            if not isinstance(k, str):
                if isinstance(k, (int, float)) and not isinstance(k, bool):
                    k = js_number(float(k)) if isinstance(k, float) else str(k)
                else:
                    raise TypeError(f"JSON object keys must be strings, got {type(k).__name__}")
            if not first:
                out.append(",")
            first = False
            out.append(_js_string(k))
            out.append(":")
            _js_parts(v, out)
        out.append("}")
    elif isinstance(obj, (list, tuple)):
        out.append("[")
        for i, v in enumerate(obj):
            if i:
                out.append(",")
            _js_parts(v, out)
        out.append("]")
    elif hasattr(obj, "item") and callable(obj.item):  # numpy / torch scalars
        _js_parts(obj.item(), out)
    elif hasattr(obj, "tolist") and callable(obj.tolist):  # numpy arrays
        _js_parts(obj.tolist(), out)
    else:
        raise TypeError(f"cannot encode {type(obj).__name__} as JSON")


def js_dumps(obj: Any) -> str:
    """Compact JSON, byte-identical to JS JSON.stringify for JSON-compatible values."""
    out: list[str] = []
    _js_parts(obj, out)
    return "".join(out)


def _reject_constant(name: str) -> Any:
    # JSON.parse refuses NaN/Infinity; so must we, or the two codecs would disagree on validity.
    raise ValueError(f"invalid JSON constant {name}")


def parse_json(b: bytes) -> Any:
    """JSON.parse equivalent: invalid UTF-8 becomes U+FFFD like Buffer.toString('utf8')."""
    return json.loads(b.decode("utf-8", errors="replace"), parse_constant=_reject_constant)


# ---- envelope --------------------------------------------------------------------------------------

def sign(key: bytes, header: bytes, content: bytes) -> str:
    mac = hmac.new(key, header, hashlib.sha256)
    mac.update(content)
    return mac.hexdigest()


def now_iso() -> str:
    """ISO 8601 with milliseconds and Z, as JS Date.toISOString()."""
    t = datetime.now(timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def make_header(session: str, type_: str, run_id: str | None = None, seq: int | None = None,
                msg_id: str | None = None, date: str | None = None) -> dict[str, Any]:
    header: dict[str, Any] = {
        "msg_id": msg_id or str(uuid.uuid4()),
        "session": session,
        "type": type_,
        "version": PROTOCOL_VERSION,
        "date": date or now_iso(),
    }
    if run_id is not None:
        header["run_id"] = run_id
        header["seq"] = seq
    return header


def encode(key: bytes, header: Mapping[str, Any], content: Mapping[str, Any],
           buffers: list[bytes] | None = None) -> list[bytes]:
    h = js_dumps(header).encode("utf-8")
    c = js_dumps(content).encode("utf-8")
    return [PROTOCOL_MAGIC, sign(key, h, c).encode("ascii"), h, c, *(buffers or [])]


def _is_int(v: Any) -> bool:
    """Number.isSafeInteger over a parsed JSON value (2.0 parses to the integer 2 in JS)."""
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return abs(v) <= MAX_SAFE_INTEGER
    if isinstance(v, float):
        return v.is_integer() and abs(v) <= MAX_SAFE_INTEGER
    return False


def _as_bytes(frame: Any) -> bytes:
    if isinstance(frame, bytes):
        return frame
    if isinstance(frame, (bytearray, memoryview)):
        return bytes(frame)
    if hasattr(frame, "bytes"):  # zmq.Frame
        return bytes(frame.bytes)
    raise TypeError(f"{type(frame).__name__} is not a frame")


def decode(key: bytes, frames: list[Any]) -> Message:
    """Verify and parse frames (without the ROUTER identity). Raises DecodeError and nothing else."""
    try:
        fr = [_as_bytes(f) for f in frames]
    except Exception as e:  # noqa: BLE001 - anything unframeable is a framing error
        raise DecodeError("frames", f"frames are not bytes: {e}") from None
    if len(fr) < 4:
        raise DecodeError("frames", f"expected at least 4 frames, got {len(fr)}")
    magic, signature, h, c, *buffers = fr
    if magic != PROTOCOL_MAGIC:
        raise DecodeError("magic", "first frame is not TY1")
    if len(h) + len(c) > MAX_MESSAGE_BYTES:
        raise DecodeError("oversized", f"header+content {len(h) + len(c)} bytes > {MAX_MESSAGE_BYTES}")
    expected = sign(key, h, c).encode("ascii")
    if len(signature) != SIGNATURE_HEX_LENGTH or not hmac.compare_digest(signature, expected):
        raise DecodeError("signature", "HMAC does not match")
    try:
        header = parse_json(h)
    except (ValueError, RecursionError) as e:
        raise DecodeError("header_json", str(e)) from None
    if not isinstance(header, dict):
        raise DecodeError("header_json", "not an object")
    if not all(isinstance(header.get(k), str) for k in ("msg_id", "session", "type", "date")):
        raise DecodeError("header_fields", "msg_id, session, type and date must be strings")
    version = header.get("version")
    if not (_is_int(version) and version == PROTOCOL_VERSION):
        raise DecodeError("version", f"unsupported version {version!r}")
    if header["type"] not in MESSAGE_TYPES:
        raise DecodeError("unknown_type", header["type"])
    if header["type"] in RUN_SCOPED_TYPES:
        seq = header.get("seq")
        if not isinstance(header.get("run_id"), str) or not _is_int(seq) or seq < 1:
            raise DecodeError("header_fields", f"{header['type']} needs run_id and seq >= 1")
        header["seq"] = int(seq)
    try:
        content = parse_json(c)
    except (ValueError, RecursionError) as e:
        raise DecodeError("content_json", str(e)) from None
    if not isinstance(content, dict):
        raise DecodeError("content_json", "not an object")
    return Message(header=header, content=content, buffers=buffers)


# ---- light content validation of what the worker receives ------------------------------------------

class ContentError(ValueError):
    """The content of a correctly signed message does not fit its type; the message is dropped."""


def _need(cond: bool, what: str) -> None:
    if not cond:
        raise ContentError(what)


def _str(v: Any) -> bool:
    return isinstance(v, str)


def validate_inbound(type_: str, content: dict[str, Any]) -> dict[str, Any]:
    """Check a message the worker received and return a normalized copy (ints as int, defaults filled).

    Extra fields are kept (forward compatible). Raises ContentError naming the offending field.
    """
    if type_ not in WORKER_INBOUND_TYPES:
        raise ContentError(f"type {type_!r} is not sent to workers")
    c = dict(content)
    if type_ == "welcome":
        hb = c.get("heartbeat_interval_ms")
        _need(_is_int(hb) and 10 <= hb <= 3_600_000, "heartbeat_interval_ms must be an integer in [10, 3600000]")
        lv = c.get("liveness")
        _need(_is_int(lv) and 1 <= lv <= 1000, "liveness must be an integer in [1, 1000]")
        c["heartbeat_interval_ms"], c["liveness"] = int(hb), int(lv)
        acks = c.get("acks", {})
        _need(isinstance(acks, dict), "acks must be an object of run_id -> seq")
        for run_id, seq in acks.items():
            _need(_is_int(seq) and seq >= 0, f"acks.{run_id} must be an integer >= 0")
        c["acks"] = {k: int(v) for k, v in acks.items()}
        cancel = c.get("cancel", [])
        _need(isinstance(cancel, list) and all(_str(r) for r in cancel), "cancel must be a list of run ids")
        c["cancel"] = list(cancel)
    elif type_ == "assign":
        _need(_str(c.get("run_id")) and c["run_id"] != "", "run_id must be a non-empty string")
        _need(_is_int(c.get("attempt")) and c["attempt"] >= 0, "attempt must be an integer >= 0")
        c["attempt"] = int(c["attempt"])
        _need(isinstance(c.get("spec"), dict), "spec must be an object")
        devices = c.get("devices")
        _need(isinstance(devices, list) and len(devices) > 0 and all(_is_int(d) and d >= -1 for d in devices),
              "devices must be a non-empty list of integers >= -1")
        c["devices"] = [int(d) for d in devices]
        rf = c.get("resume_from")
        _need(rf is None or _str(rf), "resume_from must be a string or null")
    elif type_ == "cancel":
        _need(_str(c.get("run_id")), "run_id must be a string")
        reason = c.get("reason", "")
        _need(_str(reason), "reason must be a string")
        c["reason"] = reason
    elif type_ == "ack":
        _need(_str(c.get("run_id")), "run_id must be a string")
        _need(_is_int(c.get("seq")) and c["seq"] >= 0, "seq must be an integer >= 0")
        c["seq"] = int(c["seq"])
    elif type_ == "disconnect":
        reason = c.get("reason", "")
        _need(_str(reason), "reason must be a string")
        c["reason"] = reason
    # heartbeat: an empty object; anything in it is ignored.
    return c


# ---- what the worker sends: trainer events checked before they get a seq ---------------------------
#
# The orchestrator drops run-scoped content that does not fit its schema (src/bridge/message.validation.ts)
# without acknowledging it, and it acknowledges only the highest contiguous seq: one such message would
# stall acknowledgement of the run for good. So trainer events are checked here, with the same rules,
# BEFORE a seq is assigned: fixable problems are fixed (non-finite metric points dropped, over-long log
# messages cut), and an event that cannot be fixed is replaced by a warning `log` naming the problem.

LOG_LEVELS = ("debug", "info", "warning", "error")
MAX_LOG_MESSAGE = 100_000
MAX_METRIC_KEY = 64
MAX_PATH = 4096


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _int_list(v: Any) -> bool:
    return isinstance(v, list) and all(_is_int(x) for x in v)


def sanitize_run_event(type_: str, content: dict[str, Any], epochs_known: int = 0) -> tuple[str, dict[str, Any]]:
    """(type, content) safe to send for a trainer event of a run-scoped type.

    Raises nothing; returns ("log", {level: "warning", ...}) when the event cannot be repaired.
    """
    try:
        return type_, _sanitize(type_, content, epochs_known)
    except ContentError as e:
        message = f"the worker dropped an invalid {type_} event from the trainer: {e}"
        return "log", {"level": "warning", "message": message[:MAX_LOG_MESSAGE]}


def _sanitize(type_: str, c: dict[str, Any], epochs_known: int) -> dict[str, Any]:
    if type_ == "finished":  # never dropped: the run must end
        out = dict(c)
        if out.get("status") not in FINISHED_STATUSES:
            out["error"] = f"trainer reported an invalid status {str(out.get('status'))[:100]!r}; " + str(out.get("error"))
            out["status"] = "failed"
        if out.get("error") is not None and not isinstance(out["error"], str):
            out["error"] = str(out["error"])
        if not _is_int(out.get("epochs_completed")) or out["epochs_completed"] < 0:
            out["epochs_completed"] = epochs_known
        return out
    if type_ == "log":
        out = dict(c)
        if out.get("level") not in LOG_LEVELS:
            out["level"] = "info"
        msg = out.get("message")
        msg = msg if isinstance(msg, str) else js_dumps(msg) if msg is not None else ""
        out["message"] = msg if len(msg) <= MAX_LOG_MESSAGE else msg[: MAX_LOG_MESSAGE - 15] + " ...[truncated]"
        return out
    if type_ == "metrics":
        pts = c.get("points")
        _need(isinstance(pts, list), "points must be a list")
        good = [p for p in pts if isinstance(p, dict) and isinstance(p.get("key"), str)
                and 0 < len(p["key"]) <= MAX_METRIC_KEY and _is_int(p.get("step")) and _is_int(p.get("epoch"))
                and _finite(p.get("value")) and _finite(p.get("wall_time"))]
        _need(bool(good), f"none of its {len(pts)} point(s) is valid (finite value and wall_time, integer step "
                          "and epoch, key of 1-64 chars)")
        return c if len(good) == len(pts) else {**c, "points": good}
    if type_ == "started":
        _need(_is_int(c.get("pid")), "pid must be an integer")
        _need(isinstance(c.get("device"), str), "device must be a string")
        _need(_is_int(c.get("attempt")), "attempt must be an integer")
        _need(_finite(c.get("params")), "params must be a finite number")
        ds = c.get("dataset")
        _need(isinstance(ds, dict), "dataset must be an object")
        _need(_is_int(ds.get("train_size")) and _is_int(ds.get("test_size")), "dataset sizes must be integers")
        names = ds.get("class_names")
        _need(isinstance(names, list) and all(isinstance(n, str) for n in names),
              "dataset.class_names must be a list of strings")
        return c
    if type_ == "evaluation":
        _need(_is_int(c.get("epoch")), "epoch must be an integer")
        names = c.get("class_names")
        _need(isinstance(names, list) and all(isinstance(n, str) for n in names), "class_names must be strings")
        m = c.get("matrix")
        _need(isinstance(m, list) and all(_int_list(r) and len(r) == len(m) for r in m)
              and all(x >= 0 for r in m for x in r), "matrix must be a square matrix of counts >= 0")
        mis = c.get("misclassified")
        _need(isinstance(mis, list) and all(isinstance(x, dict) and _is_int(x.get("index")) and _is_int(x.get("true"))
                                            and _is_int(x.get("pred")) for x in mis),
              "misclassified must be a list of {index, true, pred} integers")
        _need(_finite(c.get("loss")), f"loss must be a finite number, got {c.get('loss')!r}")
        _need(_is_int(c.get("samples")), "samples must be an integer")
        return c
    if type_ == "checkpoint":
        _need(_is_int(c.get("epoch")), "epoch must be an integer")
        _need(isinstance(c.get("path"), str) and len(c["path"]) <= MAX_PATH, "path must be a string of at most 4096")
        _need(_finite(c.get("bytes")), "bytes must be a finite number")
        _need(isinstance(c.get("final"), bool), "final must be a boolean")
        return c
    return c
