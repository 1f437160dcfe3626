#!/usr/bin/env bash
# Build entry point, called by the Pulumi program (providers/packer-build.ts, in the manner of @pulumi/command):
#
#   packer/build.sh <template-dir-or-file> [<var-file>]
#
# Inputs other than the two paths come from the environment only (never argv, which a process list and
# Pulumi's state would show): PKR_VAR_<name> for template variables, the secrets among them
# (PKR_VAR_pool_password, PKR_VAR_pool_username, PKR_VAR_build_password) included.
#   PKR_VAR_build_id        identifier of this build (generated when unset, and reported)
#   PKR_VAR_build_password  password of the temporary build user (random when unset)
#   PKR_VAR_pool_ca_file    PEM file of the pool's private CA, trusted in addition to the system's
#   XCPNG_PACKER_CA_FILE    PEM file that is the only thing Packer and its plugins trust (the pool's own
#                           certificate, when the stack pins it: Go's TLS then accepts that certificate alone)
#   XCPNG_PACKER_ON_ERROR   packer's -on-error (default cleanup: a failed build leaves no VM behind)
#   XCPNG_WATCH_PID         a process to watch (the Pulumi provider): when it dies, the build is stopped
# Run it with `exec` (or directly) so that a cancel's SIGTERM reaches it; it passes the signal on to Packer.
#
# Output: Packer's own output and log go to stderr; stdout carries exactly one compact JSON line on success:
#   {"template":"debian-12","build_id":"...","duration_seconds":754,"packer_version":"1.9.4"}
# The steps that take time start with a stderr line `build.sh: --- <step>` (render, validate, packer build: the
# provider shows these, not the whole log; the quick checks before them only name themselves when they fail).
# On failure nothing is printed on stdout and the exit status is non-zero, with a last stderr line
#   build.sh: FAILED at step '<step>': <reason>
# No `packer init`: plugins are found in PACKER_PLUGIN_PATH (tools/bootstrap.sh installs them there).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
step=arguments
work=""
packer_pid=""
watcher_pid=""

fail() {
  printf 'build.sh: FAILED at step %s: %s\n' "'$step'" "$*" >&2
  exit 1
}
begin() {
  step=$1
  printf 'build.sh: --- %s\n' "$step" >&2
}
cleanup() {
  if [ -n "$watcher_pid" ]; then kill "$watcher_pid" 2>/dev/null || true; fi
  if [ -n "$packer_pid" ] && kill -0 "$packer_pid" 2>/dev/null; then kill -TERM "$packer_pid" 2>/dev/null || true; fi
  if [ -n "$work" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
# @pulumi/command cancels by killing its direct child, and the Pulumi provider signals this script: pass the
# signal on to Packer, which cancels the build and destroys its build VM, and wait for that. Then whatever Packer
# started and left running (a local provisioner's script) is stopped too, when this script leads its own process
# group (the provider starts it so); a caller's group is never signalled.
on_signal() {
  if [ -n "$packer_pid" ]; then
    kill -TERM "$packer_pid" 2>/dev/null || true
    wait "$packer_pid" 2>/dev/null || true
    packer_pid=""
  fi
  if [ "$(ps -o pgid= -p $$ | tr -d ' ')" = "$$" ]; then
    trap '' INT TERM
    kill -TERM -- "-$$" 2>/dev/null || true
  fi
  fail "interrupted by a signal; Packer was stopped and has cleaned up"
}
trap on_signal INT TERM
# The provider that started this build stops it on cancel or timeout; if the provider itself is killed outright
# (SIGKILL: no chance to do that), this watcher stops the build, so no Packer runs on unattended.
if [ -n "${XCPNG_WATCH_PID:-}" ]; then
  (
    while kill -0 "$XCPNG_WATCH_PID" 2>/dev/null; do sleep 2; done
    kill -TERM "$$" 2>/dev/null || true
  ) &
  watcher_pid=$!
fi

# --- arguments ----------------------------------------------------------------------------------------------
[ $# -eq 1 ] || [ $# -eq 2 ] || fail "expected <template-dir-or-file> [<var-file>], got $# arguments. Pass every other input, secrets included, as PKR_VAR_<name> environment variables."
template=$1
var_file=${2:-}
[ -e "$template" ] || fail "template '$template' does not exist; give a directory of *.pkr.hcl files or one .pkr.hcl file"
[ -z "$var_file" ] || [ -f "$var_file" ] || fail "variable file '$var_file' does not exist; see packer/os_pkrvars/ for the catalogue's files"
var_file_args=()
[ -z "$var_file" ] || var_file_args=(-var-file="$var_file")

if [ -z "${PKR_VAR_build_id:-}" ]; then
  PKR_VAR_build_id="$(date -u +%Y%m%dT%H%M%SZ)-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
  export PKR_VAR_build_id
fi
[[ "$PKR_VAR_build_id" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] || fail "PKR_VAR_build_id '$PKR_VAR_build_id' is not 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit"

# --- environment --------------------------------------------------------------------------------------------
step=environment
command -v packer >/dev/null || fail "packer is not on PATH; run tools/bootstrap.sh (npm run setup) and source \$TOOLS_HOME/env.sh"
packer_version=$(packer version 2>/dev/null | sed -nE '1s/^Packer v([0-9][0-9A-Za-z.+-]*).*/\1/p')
[ -n "$packer_version" ] || fail "could not read the version from 'packer version'"
export CHECKPOINT_DISABLE=1
work=$(mktemp -d "${TMPDIR:-/tmp}/xcpng-build.XXXXXX")
chmod 700 "$work"

# The pool's private CA (PKR_VAR_pool_ca_file, e.g. devpool's): Go programs (Packer, its plugins) read extra
# roots from SSL_CERT_FILE, which replaces the system list, so the bundle is the system's plus this CA. A pinned
# pool (XCPNG_PACKER_CA_FILE: its own certificate, fetched and checked against the pin by the provider) is the
# only root instead: Go accepts a certificate found in its roots as it is, so nothing else will do.
if [ -n "${XCPNG_PACKER_CA_FILE:-}" ]; then
  [ -f "$XCPNG_PACKER_CA_FILE" ] || fail "XCPNG_PACKER_CA_FILE '$XCPNG_PACKER_CA_FILE' is not a file"
  cp "$XCPNG_PACKER_CA_FILE" "$work/ca-bundle.pem"
  export SSL_CERT_FILE="$work/ca-bundle.pem"
elif [ -n "${PKR_VAR_pool_ca_file:-}" ]; then
  [ -f "$PKR_VAR_pool_ca_file" ] || fail "PKR_VAR_pool_ca_file '$PKR_VAR_pool_ca_file' is not a file"
  system_bundle=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
  { [ -f "$system_bundle" ] && cat "$system_bundle"; cat "$PKR_VAR_pool_ca_file"; } >"$work/ca-bundle.pem"
  export SSL_CERT_FILE="$work/ca-bundle.pem"
fi

# --- inspect: the values Packer will use (variable file over PKR_VAR_* over defaults) -----------------------------
step=inspect
if ! packer inspect "${var_file_args[@]}" "$template" >"$work/inspect.txt" 2>&1; then
  cat "$work/inspect.txt" >&2
  fail "packer inspect could not read $template${var_file:+ with $var_file} (see above)"
fi
var_value() { sed -nE "s/^var\.$1: \"(.*)\"\$/\1/p" "$work/inspect.txt" | head -1; }
uses_var() { grep -q "^var\.$1:" "$work/inspect.txt"; }
template_name=$(var_value template_name)
[[ "$template_name" =~ ^[a-z0-9][a-z0-9.-]{0,62}$ ]] || fail "template_name '$template_name' (from the variable file, PKR_VAR_template_name or the default) is not lower-case letters, digits, '.' and '-'"
extra_vars=()

# --- render: the installer's seed with this build's user and password hash ------------------------------------
if uses_var http_directory; then
  begin render
  os_name=$(var_value os_name)
  [ -n "$os_name" ] || fail "no os_name (variable file or PKR_VAR_os_name), so the installer seed directory packer/<os_name>/http is unknown"
  command -v openssl >/dev/null || fail "openssl is needed for the build password; install it (apt-get install openssl)"
  if [ -z "${PKR_VAR_build_password:-}" ]; then
    PKR_VAR_build_password=$(openssl rand -base64 24)
    export PKR_VAR_build_password
  fi
  user=$(var_value build_username)
  BUILD_USERNAME=${user:-xcpng-build} BUILD_PASSWORD=$PKR_VAR_build_password \
    "$here/render-seed.sh" "$here/$os_name/http" "$work/http" || fail "could not render $here/$os_name/http"
  extra_vars+=(-var "http_directory=$work/http")
fi
if uses_var output_directory; then extra_vars+=(-var "output_directory=$work/output"); fi

# --- validate ------------------------------------------------------------------------------------------------------
begin validate
if ! packer validate "${extra_vars[@]}" "${var_file_args[@]}" "$template" >"$work/validate.log" 2>&1; then
  cat "$work/validate.log" >&2
  if grep -q 'Missing plugins' "$work/validate.log"; then
    fail "a required Packer plugin is not installed in PACKER_PLUGIN_PATH (${PACKER_PLUGIN_PATH:-unset}); run tools/bootstrap.sh, which builds it"
  fi
  fail "packer validate rejected $template${var_file:+ with $var_file} (see above)"
fi

# --- build -----------------------------------------------------------------------------------------------------------
begin "packer build"
start=$SECONDS
set +e
packer build -color=false -timestamp-ui -on-error="${XCPNG_PACKER_ON_ERROR:-cleanup}" \
  "${extra_vars[@]}" "${var_file_args[@]}" "$template" >&2 &
packer_pid=$!
wait "$packer_pid"
rc=$?
set -e
packer_pid=""
[ "$rc" -eq 0 ] || fail "packer build exited $rc (its output is above)"
duration=$((SECONDS - start))

printf '{"template":"%s","build_id":"%s","duration_seconds":%d,"packer_version":"%s"}\n' \
  "$template_name" "$PKR_VAR_build_id" "$duration" "$packer_version"
