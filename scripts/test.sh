#!/usr/bin/env bash
# `npm test`: bootstrap for tests, then typecheck, build, jest unit (+ the dashboard's own jest
# config when apps/dashboard/jest.config.js exists), pytest, jest e2e — in that
# order, stopping at the first failing stage — and a summary whose last line is "N passed, N failed"
# (test suites: one per test file; the typecheck and the build count as one each).
#
# Environment:
#   CI=true                       jest --ci (no snapshot writes); nothing here is interactive anyway
#   TRAINYARD_TEST_BUDGET_S=1800  wall-clock budget for all stages; a stage still running when it
#                                 runs out is stopped and counted as failed
#   TRAINYARD_PYTHON              interpreter for pytest and the workers (default /usr/bin/python3)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1

out="$root/test-output"
rm -rf "$out"
mkdir -p "$out"
export TRAINYARD_TEST_OUTPUT="$out"
export TRAINYARD_REQUIRE_PG=1
export TRAINYARD_PYTHON="${TRAINYARD_PYTHON:-/usr/bin/python3}"
export NODE_OPTIONS="--experimental-vm-modules${NODE_OPTIONS:+ $NODE_OPTIONS}"
jest_flags=()
[[ "${CI:-}" == true || "${CI:-}" == 1 ]] && jest_flags+=(--ci)

budget="${TRAINYARD_TEST_BUDGET_S:-1800}"
start_all=$SECONDS
passed=0 failed=0 stopped=""
summary=()

remaining() { echo $(( budget - (SECONDS - start_all) )); }

# record STAGE PASSED FAILED DETAIL SECONDS
record() {
  passed=$((passed + $2)); failed=$((failed + $3))
  local verdict=passed
  (( $3 > 0 )) && verdict=FAILED
  summary+=("$(printf '%-10s %-7s %-46s %4ss' "$1" "$verdict" "$4" "$5")")
  (( $3 > 0 )) && stopped="$1"
}

print_summary() {
  local s
  echo
  echo "==================== test summary ===================="
  for s in "${summary[@]}"; do echo "$s"; done
  local stages=(typecheck build unit)
  [[ -f apps/dashboard/jest.config.js ]] && stages+=(dashboard)
  stages+=(pytest e2e)
  for s in "${stages[@]}"; do
    if ! printf '%s\n' "${summary[@]}" | grep -q "^$s "; then
      printf '%-10s %-7s %s\n' "$s" skipped "(not run: $stopped failed)"
    fi
  done
  echo "total $((SECONDS - start_all))s; outputs in test-output/"
  echo "$passed passed, $failed failed"
}

finish() {
  print_summary
  if (( failed > 0 )) || [[ -n "$stopped" ]]; then exit 1; fi
  exit 0
}
child=""
# shellcheck disable=SC2317  # reached through the traps below
on_signal() {
  echo "test.sh: interrupted ($1); stopping the running stage" >&2
  if [[ -n "$child" ]]; then kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; fi
  record "$current" 0 1 "interrupted by SIG$1" $((SECONDS - t0))
  finish
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM

current=setup t0=$SECONDS
# banner STAGE TEXT
banner() { current="$1"; echo; echo "==================== $1 ($2) ===================="; }

# guarded CMD...: run with what is left of the budget. In the background and waited for, so a
# signal to this script is handled at once and passed on (timeout forwards it to the command).
guarded() {
  local left rc
  left="$(remaining)"
  if (( left <= 0 )); then echo "test.sh: time budget of ${budget}s exhausted" >&2; return 124; fi
  timeout --foreground -k 20 "$left" "$@" &
  child=$!
  wait "$child"
  rc=$?
  child=""
  return "$rc"
}

# jest_counts JSON RC -> "PASSED FAILED DETAIL"
jest_counts() {
  # shellcheck disable=SC2016  # JavaScript, not shell
  node -e '
    const fs = require("fs");
    const [file, rc] = [process.argv[1], Number(process.argv[2])];
    let r;
    try { r = JSON.parse(fs.readFileSync(file, "utf8")); } catch { r = null; }
    if (!r) {
      const why = rc === 124 || rc === 137 ? "timed out (TRAINYARD_TEST_BUDGET_S)"
        : rc === 1 ? "no test files found, or jest failed to start; see above" : `jest exit ${rc}, no report`;
      console.log(`0 1 ${why}`);
      process.exit(0);
    }
    const passed = r.numPassedTestSuites;
    let failed = r.numTotalTestSuites - passed - r.numPendingTestSuites;
    let detail = `${r.numTotalTestSuites} suites, ${r.numPassedTests}/${r.numTotalTests} tests passed`;
    if (r.numTotalTestSuites === 0) detail = "no test files found";
    if (rc !== 0 && failed === 0) {
      failed = 1;
      detail += rc === 124 || rc === 137 ? "; timed out (TRAINYARD_TEST_BUDGET_S)" : `; jest exit ${rc}`;
    }
    console.log(`${passed} ${failed} ${detail}`);
  ' "$1" "$2"
}

# pytest_counts XML RC -> "PASSED FAILED DETAIL" (suite = test file)
pytest_counts() {
  "$TRAINYARD_PYTHON" - "$1" "$2" <<'PY'
import sys
import xml.etree.ElementTree as ET
path, rc = sys.argv[1], int(sys.argv[2])
try:
    cases = list(ET.parse(path).getroot().iter("testcase"))
except (OSError, ET.ParseError):
    why = "timed out (TRAINYARD_TEST_BUDGET_S)" if rc in (124, 137) else f"pytest exit {rc}, no report"
    print(f"0 1 {why}")
    sys.exit(0)
files: dict[str, bool] = {}
tests = ok = 0
for c in cases:
    name = c.get("file") or c.get("classname", "?").rsplit(".", 1)[0]
    bad = c.find("failure") is not None or c.find("error") is not None
    skipped = c.find("skipped") is not None
    files[name] = files.get(name, True) and not bad
    if not skipped:
        tests += 1
        ok += 0 if bad else 1
passed = sum(files.values())
failed = len(files) - passed
detail = f"{len(files)} files, {ok}/{tests} tests passed"
if rc == 5:
    failed, detail = max(failed, 1), "no tests collected (pytest exit 5)"
elif rc != 0 and failed == 0:
    failed = 1
    detail += "; timed out (TRAINYARD_TEST_BUDGET_S)" if rc in (124, 137) else f"; pytest exit {rc}"
print(f"{passed} {failed} {detail}")
PY
}

run_jest() { # run_jest STAGE JEST-ARGS...
  local stage="$1"; shift
  local rc counts
  t0=$SECONDS
  banner "$stage" "jest $*"
  guarded node_modules/.bin/jest "$@" "${jest_flags[@]}" --json --outputFile="$out/jest-$stage.json"
  rc=$?
  counts="$(jest_counts "$out/jest-$stage.json" "$rc")"
  read -r p f d <<<"$counts"
  record "$stage" "$p" "$f" "$d" $((SECONDS - t0))
}

# ---- bootstrap ------------------------------------------------------------------------------
# Packages first, builds after the typecheck: a type error then reads as one, not as a failed build.
t0=$SECONDS
banner bootstrap "scripts/bootstrap.sh test"
if ! TRAINYARD_SKIP_BUILD=1 bash scripts/bootstrap.sh test; then
  record bootstrap 0 1 "see the messages above" $((SECONDS - t0))
  finish
fi

# ---- typecheck ------------------------------------------------------------------------------
t0=$SECONDS
banner typecheck "npm run typecheck"
if guarded npm run --silent typecheck; then
  record typecheck 1 0 "tsc --noEmit" $((SECONDS - t0))
else
  record typecheck 0 1 "tsc --noEmit reported errors" $((SECONDS - t0))
  finish
fi

# ---- build ----------------------------------------------------------------------------------
# e2e tests start dist/src/main.js and load apps/dashboard/dist; rebuilt only when sources changed.
t0=$SECONDS
banner build "server and dashboard, when sources changed"
if guarded bash scripts/bootstrap.sh test; then
  record build 1 0 "dist/ and apps/dashboard/dist/ up to date" $((SECONDS - t0))
else
  record build 0 1 "build failed, see the messages above" $((SECONDS - t0))
  finish
fi

# ---- jest unit ------------------------------------------------------------------------------
run_jest unit --selectProjects unit
[[ -n "$stopped" ]] && finish

# The dashboard's pure-logic specs have their own jest config (TSX, @contracts alias); the root
# config's unit project does not reach them.
if [[ -f apps/dashboard/jest.config.js ]]; then
  run_jest dashboard -c apps/dashboard/jest.config.js
  [[ -n "$stopped" ]] && finish
fi

# ---- pytest ---------------------------------------------------------------------------------
t0=$SECONDS
banner pytest "$TRAINYARD_PYTHON -m pytest -q python-bridge/tests"
guarded "$TRAINYARD_PYTHON" -m pytest -q -o junit_family=xunit1 --junitxml="$out/pytest.xml" \
  python-bridge/tests
rc=$?
read -r p f d <<<"$(pytest_counts "$out/pytest.xml" "$rc")"
record pytest "$p" "$f" "$d" $((SECONDS - t0))
[[ -n "$stopped" ]] && finish

# ---- jest e2e -------------------------------------------------------------------------------
run_jest e2e --selectProjects e2e --runInBand
finish
