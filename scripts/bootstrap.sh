#!/usr/bin/env bash
# Make this checkout runnable: system packages, Node, npm packages, Python imports, builds.
#
#   bash scripts/bootstrap.sh [run|test]      (or: source scripts/bootstrap.sh [run|test])
#
# `run` needs what `npm start` needs; `test` adds what `npm test` needs (Chromium, PostgreSQL 15,
# scikit-learn). Idempotent: when everything is in place it only compares timestamps, so it is fast
# enough to run before every start.
#
# Environment:
#   TRAINYARD_PYTHON        interpreter for workers and trainers (default /usr/bin/python3)
#   TRAINYARD_SKIP_BUILD=1  skip the server and dashboard builds (for tooling that builds by itself)

_ty_bootstrap_main() {
  set -euo pipefail
  local mode="${1:-run}"
  case "$mode" in
    run|test) ;;
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; return 0 ;;
    *) echo "bootstrap: unknown mode '$mode' (expected 'run' or 'test')" >&2; return 2 ;;
  esac

  _ty_say() { echo "bootstrap: $*" >&2; }
  _ty_die() { echo "bootstrap: ERROR: $*" >&2; exit 1; }

  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  cd "$root"

  # Two bootstraps at once (npm start beside npm test) would race in npm ci and rm -rf dist.
  if command -v flock >/dev/null 2>&1; then
    local lock
    lock="${TMPDIR:-/tmp}/trainyard-bootstrap-$(printf '%s' "$root" | cksum | cut -d' ' -f1).lock"
    # A lock file we cannot open (another user's) only costs the protection, not the bootstrap.
    if { exec 9>>"$lock"; } 2>/dev/null; then
      flock -w 900 9 || _ty_die "another bootstrap of $root held $lock for 15 minutes"
    fi
  fi

  local py="${TRAINYARD_PYTHON:-/usr/bin/python3}"
  local cache_dir="$root/node_modules/.cache/trainyard-bootstrap"

  # ---- 1. Debian packages -------------------------------------------------------------------
  local run_pkgs=(python3-torch python3-torchvision python3-zmq python3-numpy python3-psutil
                  python3-pytest dataset-fashion-mnist)
  local test_pkgs=(chromium postgresql-15 python3-sklearn)
  local wanted=()
  if [[ "$py" != /usr/bin/python3 && "$mode" == run ]]; then
    # A custom interpreter (venv, conda) brings its own torch; only the dataset comes from Debian.
    wanted=(dataset-fashion-mnist)
  else
    wanted=("${run_pkgs[@]}")
  fi
  [[ "$mode" == test ]] && wanted+=("${test_pkgs[@]}")

  if ! command -v dpkg-query >/dev/null 2>&1; then
    _ty_die "dpkg-query not found: this bootstrap supports Debian 12. Install the equivalents of: ${wanted[*]}"
  fi
  local missing=() status_lines
  # One dpkg-query for all packages: unknown packages go to stderr and are simply absent below.
  status_lines="$(dpkg-query -W -f='${Package} ${Status}\n' "${wanted[@]}" 2>/dev/null || true)"
  local p
  for p in "${wanted[@]}"; do
    if ! grep -qx "$p install ok installed" <<<"$status_lines"; then missing+=("$p"); fi
  done
  if ((${#missing[@]})); then
    if [[ "$(id -u)" == 0 ]]; then
      _ty_say "installing Debian packages: ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get -o DPkg::Lock::Timeout=300 update -q \
        || _ty_die "apt-get update failed (see above)"
      apt-get -o DPkg::Lock::Timeout=300 install -y -q "${missing[@]}" \
        || _ty_die "apt-get install ${missing[*]} failed (see above)"
    else
      echo "bootstrap: missing Debian packages. Install them with:" >&2
      echo "  sudo apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
  if [[ "$mode" == test ]]; then
    local b
    for b in initdb pg_ctl postgres; do
      [[ -x "/usr/lib/postgresql/15/bin/$b" ]] \
        || _ty_die "/usr/lib/postgresql/15/bin/$b is missing although postgresql-15 is installed; reinstall it: apt-get install --reinstall postgresql-15"
    done
    [[ -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ]] \
      || _ty_die "Chromium not found at ${CHROMIUM_BIN:-/usr/bin/chromium}; install chromium or set CHROMIUM_BIN"
  fi

  # ---- 2. Node ------------------------------------------------------------------------------
  command -v node >/dev/null 2>&1 \
    || _ty_die "Node.js >= 20.19 is required but 'node' is not on PATH (Debian 12's nodejs is too old; use NodeSource or nvm)"
  local nodev
  nodev="$(node -p 'process.versions.node')"
  local major minor
  IFS=. read -r major minor _ <<<"$nodev"
  if (( major < 20 || (major == 20 && minor < 19) )); then
    _ty_die "Node.js >= 20.19 is required, found $nodev at $(command -v node) (NestJS 12 and require(esm) need it)"
  fi
  command -v npm >/dev/null 2>&1 || _ty_die "npm not found next to node ($(command -v node))"

  # ---- 3. npm packages ----------------------------------------------------------------------
  local need_npm=""
  if [[ ! -d node_modules ]]; then
    need_npm="node_modules is missing"
  elif [[ ! -f node_modules/.package-lock.json ]]; then
    need_npm="node_modules was not installed by npm"
  elif [[ -f package-lock.json && package-lock.json -nt node_modules/.package-lock.json ]]; then
    need_npm="package-lock.json changed"
  fi
  if [[ -n "$need_npm" ]]; then
    _ty_say "installing npm packages ($need_npm); better-sqlite3 may compile for a minute"
    if [[ -f package-lock.json ]]; then
      npm ci --no-audit --no-fund || _ty_die "npm ci failed (see above)"
    else
      npm install --no-audit --no-fund || _ty_die "npm install failed (see above)"
    fi
    touch node_modules/.package-lock.json
  fi
  # Native addons built for another Node ABI (or skipped install scripts) fail only at first use;
  # catch that here instead.
  local addons="new (require('better-sqlite3'))(':memory:').close(); require('zeromq')"
  if ! node -e "$addons" >/dev/null 2>&1; then
    _ty_say "native addons (better-sqlite3, zeromq) do not load under Node $nodev; rebuilding them"
    npm rebuild better-sqlite3 zeromq || _ty_die "npm rebuild better-sqlite3 zeromq failed (see above)"
    node -e "$addons" || _ty_die "better-sqlite3 or zeromq still does not load under Node $nodev"
  fi
  mkdir -p "$cache_dir"

  # ---- 4. Python ----------------------------------------------------------------------------
  [[ -x "$py" ]] || _ty_die "Python interpreter '$py' not found or not executable (set TRAINYARD_PYTHON)"
  local modules="torch, torchvision, zmq, numpy"
  [[ "$mode" == test ]] && modules="$modules, sklearn, pytest, psutil"
  # Importing torch takes over a second, so the full import is remembered until the interpreter or
  # the installed Debian packages change; a cheap find_spec check still runs every time.
  local py_real key stamp
  py_real="$(readlink -f "$py")"
  key="$(printf '%s|%s|%s|%s' "$py_real" "$(stat -c %Y "$py_real")" \
         "$(stat -c %Y /var/lib/dpkg/status 2>/dev/null || echo 0)" "$modules" | cksum | cut -d' ' -f1)"
  stamp="$cache_dir/python-$key.ok"
  if [[ -f "$stamp" ]]; then
    "$py" -c "
import importlib.util, sys
gone = [m for m in '$modules'.split(', ') if importlib.util.find_spec(m) is None]
sys.exit('missing: ' + ', '.join(gone) if gone else 0)" >/dev/null 2>&1 || rm -f "$stamp"
  fi
  if [[ ! -f "$stamp" ]]; then
    local err
    if ! err="$("$py" -c "import $modules" 2>&1)"; then
      echo "$err" | tail -n 5 >&2
      _ty_die "Python interpreter '$py' cannot import $modules. Use Debian's /usr/bin/python3 with the packages above, or point TRAINYARD_PYTHON at an interpreter that has them"
    fi
    touch "$stamp"
  fi

  # ---- 5. Builds ----------------------------------------------------------------------------
  if [[ "${TRAINYARD_SKIP_BUILD:-}" != 1 ]]; then
    # Stamps record when the last successful build *started*, so edits made during a build are
    # picked up by the next one. Directories are compared too: deleting a file touches its folder.
    local server_stamp=dist/.build-stamp
    local server_sources=(src bench tsconfig.json tsconfig.build.json package-lock.json)
    if [[ ! -f "$server_stamp" || ! -f dist/src/main.js ]] \
       || [[ -n "$(find "${server_sources[@]}" -newer "$server_stamp" -print -quit 2>/dev/null)" ]]; then
      _ty_say "building the server (npm run build:server)"
      local started="$cache_dir/server-build.started"
      touch "$started"
      # tsc never deletes outputs; a stale compiled migration or module would still be loaded.
      rm -rf dist
      npm run --silent build:server || _ty_die "server build failed (npm run build:server, see above)"
      [[ -f dist/src/main.js ]] || _ty_die "server build produced no dist/src/main.js (is src/main.ts there?)"
      mv "$started" "$server_stamp"
    fi

    local dash=apps/dashboard dash_stamp=apps/dashboard/dist/.build-stamp
    [[ -f "$dash/vite.config.ts" ]] || _ty_die "$dash/vite.config.ts is missing; cannot build the dashboard"
    # -mindepth 1: the dashboard folder itself changes when dist/ is created inside it.
    if [[ ! -f "$dash_stamp" || ! -f "$dash/dist/index.html" ]] \
       || [[ -n "$(find "$dash" -mindepth 1 \( -path "$dash/dist" -o -name node_modules \) -prune \
                    -o -newer "$dash_stamp" -print -quit 2>/dev/null)" ]] \
       || [[ -n "$(find src/contracts package-lock.json -newer "$dash_stamp" -print -quit 2>/dev/null)" ]]; then
      _ty_say "building the dashboard (npm run build:dashboard)"
      local dstarted="$cache_dir/dashboard-build.started"
      touch "$dstarted"
      npm run --silent build:dashboard || _ty_die "dashboard build failed (npm run build:dashboard, see above)"
      [[ -f "$dash/dist/index.html" ]] || _ty_die "dashboard build produced no $dash/dist/index.html"
      mv "$dstarted" "$dash_stamp"
    fi
  fi
  return 0
}

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
  # Sourced: run in a subshell so `set -e` and `exit` cannot leak into the caller's shell.
  ( _ty_bootstrap_main "$@" )
  _ty_rc=$?
  unset -f _ty_bootstrap_main
  eval "unset _ty_rc; return $_ty_rc"
else
  ( _ty_bootstrap_main "$@" )
fi
