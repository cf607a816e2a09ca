#!/usr/bin/env bash
# `npm start [-- flags]`: make the checkout runnable, then hand the process over to the orchestrator.
# Flags pass through to dist/src/main.js (e.g. --study seed --profile smoke --exit-when-done).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh run
# exec: signals (Ctrl-C, SIGTERM from a supervisor) go straight to node, which stops the workers.
exec node dist/src/main.js "$@"
