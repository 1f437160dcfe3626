#!/usr/bin/env bash
# Hands the project's toolchain environment to the following steps of a GitHub Actions job.
#
#   tools/with-env.sh bash tools/ci/github-env.sh
#
# tools/with-env.sh builds or checks the toolchain (seconds when warm), sources $TOOLS_HOME/env.sh and installs
# npm dependencies when needed; this script then writes what env.sh exports to $GITHUB_ENV and the tool
# directories to $GITHUB_PATH. Steps run in fresh shells and JavaScript actions (pulumi/actions) do not source
# anything, so this is how they all get the pinned Pulumi, Packer and Node first on PATH and the variables
# that forbid plugin downloads. XCPNG_ENV_READY makes later `tools/with-env.sh` calls skip the checks.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

die() {
  echo "github-env.sh: $*" >&2
  exit 1
}
[ -n "${GITHUB_ENV:-}" ] || die "GITHUB_ENV is not set: run this inside a GitHub Actions step"
[ -n "${GITHUB_PATH:-}" ] || die "GITHUB_PATH is not set: run this inside a GitHub Actions step"
if [ -z "${TOOLS_HOME:-}" ] || [ ! -f "$TOOLS_HOME/env.sh" ]; then
  die "no toolchain environment (\$TOOLS_HOME/env.sh): run it as 'tools/with-env.sh bash tools/ci/github-env.sh'"
fi

# Every variable env.sh exports (it is written by tools/bootstrap.sh; reading its names keeps one source).
mapfile -t names < <(sed -nE 's/^export ([A-Za-z_][A-Za-z0-9_]*)=.*/\1/p' "$TOOLS_HOME/env.sh")
lines=()
for name in "${names[@]}" XCPNG_ENV_READY; do
  [ "$name" = PATH ] && continue
  value=${!name-}
  case $value in
  *$'\n'*) die "$name holds a line break, which \$GITHUB_ENV's NAME=value form cannot carry" ;;
  esac
  lines+=("$name=$value")
done

# What env.sh puts in front of PATH (the toolchain's bin: Node, Pulumi, Packer), read by sourcing it with
# an empty PATH rather than assumed (--norc: bash would read ~/.bashrc when its stdin is a socket).
# shellcheck disable=SC2016 # expanded by the inner shell, on purpose
tools_path=$(env -i PATH= "$BASH" --norc -c '. "$1" && printf %s "$PATH"' _ "$TOOLS_HOME/env.sh")
tools_path=${tools_path%:}
[ -n "$tools_path" ] || die "$TOOLS_HOME/env.sh puts nothing on PATH"
# Each line of $GITHUB_PATH is prepended to PATH, so the last one written comes first (actions/runner
# reverses its PrependPath list): the toolchain, then node_modules/.bin, then whatever the runner had.
# Written only once everything is checked.
printf '%s\n' "${lines[@]}" >>"$GITHUB_ENV"
printf '%s\n' "$root/node_modules/.bin" "$tools_path" >>"$GITHUB_PATH"
echo "github-env.sh: $tools_path and node_modules/.bin on PATH, and env.sh's variables, for the next steps"
