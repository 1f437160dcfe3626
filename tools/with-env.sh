#!/usr/bin/env bash
# Runs a command inside the project's environment: toolchain built (tools/bootstrap.sh, seconds when warm),
# its env.sh sourced (tools first on PATH, no plugin downloads), npm dependencies installed from the lockfile.
#   tools/with-env.sh <command> [args...]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools_home=${TOOLS_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/xcpng-templates-tools}

if [ "${XCPNG_ENV_READY:-}" != "$tools_home" ]; then
  bash "$root/tools/bootstrap.sh"
  # shellcheck source=/dev/null
  . "$tools_home/env.sh"
  # npm ci when node_modules is missing or older than the lockfile.
  if [ ! -f "$root/node_modules/.package-lock.json" ] || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
    echo "[with-env] installing npm dependencies from package-lock.json ..." >&2
    (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
  export XCPNG_ENV_READY=$tools_home
  export PATH="$root/node_modules/.bin:$PATH"
fi
cd "$root"
exec "$@"
