#!/usr/bin/env bash
# The whole test suite (the README's test command runs this through `npm test`):
# toolchain + dependencies, type check, lint, format check, shellcheck, then every mocha tier
# (*.test.ts unit, *.integ.test.ts against real tools and servers, *.e2e.test.ts full Pulumi lifecycles).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "${XCPNG_ENV_READY:-}" = "" ]; then exec "$root/tools/with-env.sh" bash "$root/tools/test.sh" "$@"; fi
cd "$root"

t0=$(date +%s)
section() { printf '\n== %s (%ss)\n' "$*" "$(($(date +%s) - t0))"; }

section "type check (tsc --noEmit)"
tsc --noEmit -p tsconfig.json
section "lint (eslint)"
eslint --max-warnings=0 .
section "format check (prettier)"
prettier --check . >/dev/null
echo "prettier: all files formatted"
section "shellcheck"
mapfile -t scripts < <(git ls-files -co --exclude-standard -- '*.sh' '.ci/run' 'packer/**/*.sh')
shellcheck -x "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean"

section "mocha: unit, integration and end-to-end tiers"
specs=("$@")
[ ${#specs[@]} -gt 0 ] || specs=('providers/**/*.test.ts' 'components/**/*.test.ts' 'lib/**/*.test.ts' 'devpool/**/*.test.ts' 'tests/**/*.test.ts' 'packer/**/*.test.ts' 'tools/**/*.test.ts' 'bench/**/*.test.ts')
log=$(mktemp)
set +e
mocha --config .mocharc.json --no-colors "${specs[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# ANSI colour codes stripped first, in case a terminal setting forces them.
plain() { sed -E 's/\x1b\[[0-9;]*m//g' "$log"; }
passed=$(plain | sed -nE 's/^ *([0-9]+) passing.*/\1/p' | tail -1)
failed=$(plain | sed -nE 's/^ *([0-9]+) failing.*/\1/p' | tail -1)
pending=$(plain | sed -nE 's/^ *([0-9]+) pending.*/\1/p' | tail -1)
rm -f "$log"
section "done"
echo "tests: ${passed:-0} passed, ${failed:-0} failed, ${pending:-0} skipped"
if [ "${passed:-0}" = 0 ] && [ "$rc" = 0 ]; then echo "no test ran: that is a failure"; exit 1; fi
exit "$rc"
