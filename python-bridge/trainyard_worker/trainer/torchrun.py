"""`python -m trainyard_worker.trainer.torchrun ...`: torch.distributed.run (torchrun), same arguments, with a
fix for torch 1.13 on Python 3.11 (Debian bookworm's python3-torch).

There, torchrun crashes at start ("'NoneType' object has no attribute 'get'") because Std.from_str("0")
iterates over an IntFlag, and Python 3.11 no longer yields its zero member (Std.NONE). On versions without
the bug this module changes nothing and simply runs torchrun.
"""

from __future__ import annotations

import re
from typing import Any


def patch_std_from_str() -> bool:
    """Install a working Std.from_str when the installed one is broken; True if it patched."""
    try:
        from torch.distributed.elastic.multiprocessing import api  # noqa: PLC0415
    except ImportError:
        return False
    std = api.Std
    if std.from_str("0") is not None:
        return False
    value_re = getattr(api, "_VALUE_REGEX", r"^[0-3]$")
    mapping_re = getattr(api, "_MAPPING_REGEX", r"^([0-9]+:[0-3],)*[0-9]+:[0-3]$")

    def from_str(cls: Any, vm: str) -> Any:
        if re.match(value_re, vm):
            return cls(int(vm))
        if re.match(mapping_re, vm):
            return {int(i): cls(int(v)) for i, v in (m.split(":") for m in vm.split(","))}
        raise ValueError(f"{vm} does not match: <{value_re}> or <{mapping_re}>")

    std.from_str = classmethod(from_str)  # type: ignore[method-assign]
    return True


def main() -> None:
    patch_std_from_str()
    from torch.distributed.run import main as torchrun_main  # noqa: PLC0415

    torchrun_main()


if __name__ == "__main__":
    main()
