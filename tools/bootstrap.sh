#!/usr/bin/env bash
# Builds the project's toolchain from the Go module proxy and the npm registry, into a cache outside the repo.
#
#   tools/bootstrap.sh            build what is missing or out of date, then write $TOOLS_HOME/env.sh
#   TOOLS_HOME=/some/dir ...      use another cache directory (default: ~/.cache/xcpng-templates-tools)
#
# Idempotent: each tool has a stamp "<pin> <go version>"; a tool whose stamp matches and whose binary exists is
# skipped, so a warm run takes about a second. Pins live in tools/versions.env only.
#
# Verified before use: when a tool is built, the SHA-256 of every binary it installs is recorded beside its stamp
# ($TOOLS_HOME/stamps/<tool>.sha256); every run checks them all before writing env.sh, so a binary changed after
# its build (by a job sharing the cache, or a disk error) is refused, loudly, instead of being used. The record
# lives in the cache too: it catches a binary replaced on its own, not someone who rewrites the record as well.
# One bootstrap at a time per cache ($TOOLS_HOME/.bootstrap.lock): a second one waits.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tools/versions.env
. "$here/versions.env"

ROOT=${TOOLS_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/xcpng-templates-tools}
BIN=$ROOT/bin
PLUGINS=$ROOT/packer-plugins
SRC=$ROOT/src
STAMPS=$ROOT/stamps
mkdir -p "$BIN" "$PLUGINS" "$SRC" "$STAMPS"
LOCK=$ROOT/.bootstrap.lock

export GOMODCACHE=$ROOT/gomod GOCACHE=$ROOT/gocache GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false
LDFLAGS="-s -w"

t0=$(date +%s)
step="start"
log() { printf '[bootstrap %4ss] %s\n' "$(($(date +%s) - t0))" "$*" >&2; }
fail() {
  local rc=$?
  log "FAILED at step '$step' (exit $rc). Fix the cause above and run tools/bootstrap.sh again:" \
    "finished steps are kept, so it resumes here."
  exit "$rc"
}
trap fail ERR

step="lock"
exec 9>"$LOCK"
if ! flock -n 9; then
  log "another tools/bootstrap.sh is running on $ROOT: waiting for it to finish ..."
  flock 9
fi

command -v go >/dev/null || { step="check go"; log "go not found on PATH: install Go >= 1.25 (https://go.dev/doc/install)"; exit 1; }
command -v npm >/dev/null || { step="check npm"; log "npm not found on PATH: install Node.js >= 20 with npm"; exit 1; }
GOV=$(go env GOVERSION)

# ---- Debian packages: shellcheck, openssl (the checksums below), and what the local build path and its tests use
# (debootstrap, sfdisk, mkfs.ext4 -d, debconf-set-selections for the preseed check, openssl for password hashes)
# (qemu-system-x86, qemu-utils, cloud-image-utils, openssh-client, binutils: boot acceptance; chromium: the
# catalogue page's browser test)
DEBIAN_PACKAGES=(shellcheck debootstrap fdisk e2fsprogs debconf-utils openssl debian-archive-keyring util-linux qemu-system-x86 qemu-utils cloud-image-utils openssh-client binutils chromium)
missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step="debian packages"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing Debian packages: ${missing[*]} ..."
    apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
  else
    log "missing Debian packages: ${missing[*]}: install them with 'sudo apt-get install ${missing[*]}', then re-run"
    exit 1
  fi
fi

# The binaries each tool installs, relative to $ROOT: what its checksum record covers (bin/node through its links).
TOOLS=(node actionlint versitygw pulumi pulumi-language-nodejs packer)
files_of() {
  case $1 in
    node) echo bin/node ;;
    pulumi) echo bin/pulumi bin/pulumi-resource-pulumi-nodejs ;;
    *) echo "bin/$1" ;;
  esac
}
# sha256 <tool>...: "<sha256> *<file>" for every file of these tools (openssl uses the CPU's SHA extensions:
# ~0.25 s of CPU for the ~400 MB of the whole toolchain, where coreutils' sha256sum takes four times longer).
sha256() {
  local files=() f t
  for t in "$@"; do read -ra f <<<"$(files_of "$t")" && files+=("${f[@]}"); done
  (cd "$ROOT" && openssl dgst -sha256 -r "${files[@]}")
}

# needs <tool> <pin> <file>: true when the tool must be (re)built: missing, another pin or Go, or built before
# checksums were recorded.
needs() { [ ! -e "$3" ] || [ "$(cat "$STAMPS/$1" 2>/dev/null)" != "$2 $GOV" ] || [ ! -s "$STAMPS/$1.sha256" ]; }
stamp() {
  sha256 "$1" >"$STAMPS/$1.sha256.tmp" && mv "$STAMPS/$1.sha256.tmp" "$STAMPS/$1.sha256"
  echo "$2 $GOV" >"$STAMPS/$1"
  log "$1 $2 ready"
}
begin() { step=$1; log "building $1 $2 ..."; }

# ---- Node.js 24 from the npm registry -------------------------------------------------------------------
NODE_DIR=$ROOT/node-$NODE_VERSION
if needs node "$NODE_VERSION" "$NODE_DIR/node_modules/.bin/node"; then
  begin node "$NODE_VERSION"
  rm -rf "$NODE_DIR" && mkdir -p "$NODE_DIR"
  npm install --prefix "$NODE_DIR" --no-save --no-audit --no-fund --loglevel=error "node@$NODE_VERSION" >&2
  "$NODE_DIR/node_modules/.bin/node" --version >&2
  ln -sfn "$NODE_DIR/node_modules/.bin/node" "$BIN/node"
  stamp node "$NODE_VERSION"
fi
ln -sfn "$NODE_DIR/node_modules/.bin/node" "$BIN/node"

# ---- actionlint ----------------------------------------------------------------------------------------
if needs actionlint "$ACTIONLINT_VERSION" "$BIN/actionlint"; then
  begin actionlint "$ACTIONLINT_VERSION"
  GOBIN=$BIN go install -trimpath -ldflags "$LDFLAGS -X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION" \
    "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION"
  stamp actionlint "$ACTIONLINT_VERSION"
fi

# ---- versitygw (S3 server) -----------------------------------------------------------------------------
if needs versitygw "$VERSITYGW_VERSION" "$BIN/versitygw"; then
  begin versitygw "$VERSITYGW_VERSION"
  GOBIN=$BIN go install -trimpath -ldflags "$LDFLAGS -X main.Version=v$VERSITYGW_VERSION" \
    "github.com/versity/versitygw/cmd/versitygw@v$VERSITYGW_VERSION"
  stamp versitygw "$VERSITYGW_VERSION"
fi

# ---- Pulumi CLI + dynamic-provider host ------------------------------------------------------------------
# pkg/v3's go.mod replaces sdk/v3 with a local path, so `go install` refuses it: build it from a throwaway
# wrapper module that requires the released modules (replaces in dependencies are ignored).
if needs pulumi "$PULUMI_VERSION" "$BIN/pulumi"; then
  begin pulumi "$PULUMI_VERSION"
  w=$SRC/pulumi && rm -rf "$w" && mkdir -p "$w"
  (
    cd "$w"
    go mod init local/pulumi-wrapper >/dev/null 2>&1
    go mod edit -replace=github.com/atotto/clipboard=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e
    go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$PULUMI_VERSION" "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION"
    go build -mod=mod -trimpath -tags osusergo,grpcnotrace \
      -ldflags "$LDFLAGS -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
      -o "$BIN/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    # The dynamic-provider host is a shell script shipped inside the sdk/v3 module (module files are
    # read-only and lose the exec bit, hence install -m).
    install -m 0755 "$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)/nodejs/dist/pulumi-resource-pulumi-nodejs" "$BIN/"
  )
  stamp pulumi "$PULUMI_VERSION"
fi

# ---- Pulumi Node.js language host ----------------------------------------------------------------------
if needs pulumi-language-nodejs "$PULUMI_LANGUAGE_NODEJS_SDK_VERSION" "$BIN/pulumi-language-nodejs"; then
  begin pulumi-language-nodejs "$PULUMI_LANGUAGE_NODEJS_SDK_VERSION"
  w=$SRC/pulumi-language-nodejs && rm -rf "$w" && mkdir -p "$w"
  (
    cd "$w"
    go mod init local/pulumi-language-nodejs-wrapper >/dev/null 2>&1
    go get "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_LANGUAGE_NODEJS_SDK_VERSION"
    go build -mod=mod -trimpath -tags osusergo,grpcnotrace \
      -ldflags "$LDFLAGS -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_LANGUAGE_NODEJS_SDK_VERSION" \
      -o "$BIN/pulumi-language-nodejs" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs
  )
  stamp pulumi-language-nodejs "$PULUMI_LANGUAGE_NODEJS_SDK_VERSION"
fi

# ---- Packer --------------------------------------------------------------------------------------------
if needs packer "$PACKER_VERSION" "$BIN/packer"; then
  begin packer "$PACKER_VERSION"
  # `go install packer@v` reads the module's version list to check deprecation, and the proxy refuses that list
  # here (403); a wrapper module with `go get` of the exact version does not need it.
  w=$SRC/packer && rm -rf "$w" && mkdir -p "$w"
  (
    cd "$w"
    go mod init local/packer-wrapper >/dev/null 2>&1
    # go get lists every retracted dependency as a warning: keep its output for the failure case only.
    go get "github.com/hashicorp/packer@v$PACKER_VERSION" >get.log 2>&1 || { cat get.log >&2; exit 1; }
    go build -mod=mod -trimpath -ldflags "$LDFLAGS" -o "$BIN/packer" github.com/hashicorp/packer
  )
  stamp packer "$PACKER_VERSION"
fi

# ---- every binary as it was built ------------------------------------------------------------------------
step="verify checksums"
recorded=$(for t in "${TOOLS[@]}"; do cat "$STAMPS/$t.sha256"; done)
actual=$(sha256 "${TOOLS[@]}" 2>&1) || true
if [ "$actual" != "$recorded" ]; then
  trap - ERR
  rm -f "$ROOT/env.sh"
  log "CHECKSUM MISMATCH: a toolchain binary is not the one tools/bootstrap.sh built and recorded."
  for t in "${TOOLS[@]}"; do
    now=$(sha256 "$t" 2>&1) || true
    if [ "$now" != "$(cat "$STAMPS/$t.sha256")" ]; then
      log "  $t: recorded ($STAMPS/$t.sha256):"
      sed 's/^/        /' "$STAMPS/$t.sha256" >&2
      log "  $t: found now:"
      printf '%s\n' "$now" | sed 's/^/        /' >&2
      log "  Something changed it after its build (a job sharing this cache, a disk error): do not use it."
      log "  Rebuild it: rm -f '$STAMPS/$t' '$STAMPS/$t.sha256' && tools/bootstrap.sh"
    fi
  done
  log "env.sh was removed: nothing sources this toolchain until it verifies."
  exit 1
fi

# ---- environment file ----------------------------------------------------------------------------------
step="env.sh"
cat >"$ROOT/env.sh.tmp" <<EOF
# Written by tools/bootstrap.sh: source it before any project command.
export TOOLS_HOME="$ROOT"
export PATH="$BIN:\$PATH"
export PACKER_PLUGIN_PATH="$PLUGINS"
export CHECKPOINT_DISABLE=1
export PULUMI_HOME="\${PULUMI_HOME:-$ROOT/pulumi-home}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_DISABLE_REGISTRY_RESOLVE=true
EOF
mv "$ROOT/env.sh.tmp" "$ROOT/env.sh"
log "toolchain ready in $ROOT (source $ROOT/env.sh)"
