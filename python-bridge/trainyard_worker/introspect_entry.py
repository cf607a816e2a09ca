"""Entry points the orchestrator calls through pythonia (src/bridge/pythonia.service.ts).

Each returns JSON text {"ok": true, "value": ...} or {"ok": false, "error": "..."}: plain strings
cross the bridge as values, so the Node side never holds proxies to Python objects, and a Python
exception becomes a clear error message instead of a bridge failure.
"""
from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _answer(fn: Callable[[], Any]) -> str:
    try:
        return json.dumps({"ok": True, "value": fn()})
    except Exception as e:  # noqa: BLE001 - every failure becomes a message for the API caller
        detail = f"{type(e).__name__}: {e}"
        if os.environ.get("TRAINYARD_DEBUG"):
            detail += "\n" + traceback.format_exc()
        return json.dumps({"ok": False, "error": detail})


def env_json() -> str:
    from trainyard_worker.introspect import env

    return _answer(env)


def layer_table_json(model_json: str, input_size: int, channels: int = 3) -> str:
    from trainyard_worker.trainer.summary import layer_table

    return _answer(lambda: layer_table(json.loads(model_json), int(input_size), int(channels)))


def describe_dataset_json(data_json: str) -> str:
    from trainyard_worker.trainer.data import describe_dataset

    return _answer(lambda: describe_dataset(json.loads(data_json)))
