"""CLI: python3 -m trainyard_worker --connect tcp://HOST:5555 [options]; see --help."""

from __future__ import annotations

import logging
import sys

from .config import ConfigError, config_from_args


def main(argv: list[str] | None = None) -> int:
    try:
        cfg, args = config_from_args(argv)
    except ConfigError as e:
        print(f"trainyard-worker: {e}", file=sys.stderr)
        return 2
    logging.basicConfig(level=getattr(logging, args.log_level.upper()), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from .agent import Agent, install_signal_handlers  # noqa: PLC0415 - after the config is known good

    try:
        agent = Agent(cfg)
    except OSError as e:
        print(f"trainyard-worker: cannot use --state-dir {cfg.state_dir}: {e}", file=sys.stderr)
        return 2
    install_signal_handlers(agent)
    try:
        return agent.run()
    except ValueError as e:  # a bad --connect endpoint surfaces at connect time
        print(f"trainyard-worker: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001
        logging.getLogger("trainyard.agent").exception("the agent failed: %s", e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
