#!/usr/bin/env bash
# ensure.sh CMD...: make each CMD (moto_server, cfn-lint) runnable for make. One already on PATH is
# used as it is; otherwise the pinned requirements go into a project-local virtualenv ($VENV, whose
# bin/ the Makefile appends to PATH). When that cannot be done it says what is missing and the exact
# command to install it by hand, and fails: a test run without moto would only fail later, less clearly.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${VENV:-$root/.venv}
python=${PYTHON:-python3}
req=$here/requirements.txt

missing() {
  local cmd out=()
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null 2>&1 || [ -x "$venv/bin/$cmd" ] || out+=("$cmd")
  done
  echo "${out[*]}"
}

need=$(missing "$@")
[ -z "$need" ] && exit 0
# Paths in messages as typed from the repository root, where make runs.
show_venv=${venv#"$root"/}
show_req=${req#"$root"/}

manual() {
  {
    echo "missing: $need ($1)."
    echo "Install by hand, then run make again:"
    echo "  $python -m venv $show_venv && $show_venv/bin/pip install -r $show_req"
    echo "or into the Python on PATH:"
    echo "  $python -m pip install -r $show_req"
  } >&2
  exit 1
}

command -v "$python" >/dev/null 2>&1 || manual "no $python to install them with; on Debian: apt-get install python3 python3-venv"
echo "$need not on PATH: installing the pinned versions into $show_venv" >&2
fresh=0
[ -d "$venv" ] || fresh=1
if ! "$python" -m venv "$venv" >&2 || ! "$venv/bin/pip" install --disable-pip-version-check -q -r "$req" >&2; then
  # A half-made environment would be taken for a working one next time.
  [ "$fresh" = 1 ] && rm -rf "$venv"
  manual "installing $show_req into $show_venv failed (see above)"
fi
need=$(missing "$@")
[ -z "$need" ] || manual "$show_req installed into $show_venv, but it has no $need"
