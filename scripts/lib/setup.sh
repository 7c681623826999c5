# Shared set-up for scripts/run, scripts/test and scripts/bench; sourced, not run.
# Installs the Debian packages the suite uses (as root, when missing), creates .venv and installs
# Delegato with its pinned dependencies. Re-running is cheap: each step checks before it acts.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

debian_packages() {
  local missing=()
  command -v openssl >/dev/null || missing+=(openssl)
  command -v secsipidx >/dev/null || missing+=(secsipidx)
  ls /usr/lib/*/libsecsipid.so.1 >/dev/null 2>&1 || missing+=(libsecsipid1)
  command -v softhsm2-util >/dev/null || missing+=(softhsm2)
  command -v runuser >/dev/null || missing+=(util-linux)
  command -v xz >/dev/null || missing+=(xz-utils)
  [ -x /usr/sbin/nginx ] || missing+=(nginx)  # serves the file publisher's directory in a test
  command -v wrk >/dev/null || missing+=(wrk)  # load generator of scripts/bench api
  command -v valgrind >/dev/null || missing+=(valgrind)  # counts instructions: scripts/bench cost
  if [ ${#missing[@]} -eq 0 ]; then return; fi
  if [ "$(id -u)" -ne 0 ]; then
    say "missing Debian packages: ${missing[*]} (install them as root: apt-get install ${missing[*]})"
    return
  fi
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
}

python_env() {
  local python="${PYTHON:-python3}"
  local stamp=".venv/.delegato-installed"
  local want
  want="$(sha256sum pyproject.toml | cut -c1-64)"
  if [ ! -x .venv/bin/python ]; then
    say "creating .venv with $($python --version)"
    "$python" -m venv .venv
  fi
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing Delegato and its pinned dependencies into .venv"
    .venv/bin/pip install -q --disable-pip-version-check -e ".[test]"
    echo "$want" > "$stamp"
  fi
}

debian_packages
python_env
export PATH="$REPO/.venv/bin:$PATH"
