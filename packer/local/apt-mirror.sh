#!/usr/bin/env bash
# Prints the Debian mirrors this machine's apt configuration uses, as shell assignments:
#   DEBIAN_MIRROR=<uri>            archive with the distribution suites (bookworm, trixie, ...)
#   DEBIAN_SECURITY_MIRROR=<uri>   archive with <suite>-security
# Read from /etc/apt/sources.list, /etc/apt/sources.list.d/*.list (one-line format) and
# /etc/apt/sources.list.d/*.sources (deb822), deb entries only, "Enabled: no" skipped. The environment
# variables XCPNG_DEBIAN_MIRROR and XCPNG_DEBIAN_SECURITY_MIRROR override what is found. Nothing is hard-coded:
# when the configuration names no Debian archive, this says so and exits 1.
#   APT_ETC  root of the apt configuration (default /etc/apt), for tests.
set -euo pipefail

apt_etc=${APT_ETC:-/etc/apt}
# Suite names of the Debian archive (codenames and aliases); an entry using one of them is a Debian mirror.
debian_suites='^(buster|bullseye|bookworm|trixie|forky|duke|sid|oldoldstable|oldstable|stable|testing|unstable)'

# Emits "<uri> <suite>" for every enabled deb entry of every file.
entries() {
  local f
  for f in "$apt_etc/sources.list" "$apt_etc"/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # deb [options] uri suite components...
    awk '$1 == "deb" {
      i = 2
      if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
      if (i + 1 <= NF) print $i, $(i + 1)
    }' "$f"
  done
  for f in "$apt_etc"/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && tolower(enabled) != "no") {
          n = split(uris, u, " "); m = split(suites, s, " ")
          for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j]
        }
        types = ""; uris = ""; suites = ""; enabled = "yes"; key = ""
      }
      BEGIN { enabled = "yes" }
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { flush(); next }
      /^[A-Za-z-]+:/ {
        key = tolower(substr($0, 1, index($0, ":") - 1))
        val = substr($0, index($0, ":") + 1)
      }
      /^[[:space:]]+[^[:space:]]/ { val = $0 }
      {
        gsub(/^[[:space:]]+|[[:space:]]+$/, "", val)
        if (key == "types") types = types " " val
        else if (key == "uris") uris = uris " " val
        else if (key == "suites") suites = suites " " val
        else if (key == "enabled") enabled = val
      }
      END { flush() }
    ' "$f"
  done
}

mirror=${XCPNG_DEBIAN_MIRROR:-}
security=${XCPNG_DEBIAN_SECURITY_MIRROR:-}
while read -r uri suite; do
  uri=${uri%/}
  case "$uri" in http://* | https://* | file:/*) ;; *) continue ;; esac
  if [[ "$suite" =~ $debian_suites(-security|/updates)$ ]]; then
    [ -n "$security" ] || security=$uri
  elif [[ "$suite" =~ $debian_suites(-updates|-backports)?$ ]]; then
    [ -n "$mirror" ] || mirror=$uri
  fi
done < <(entries)

missing=""
[ -n "$mirror" ] || missing="a Debian archive (an entry for suite bookworm, trixie, stable, ...)"
[ -n "$security" ] || missing="${missing:+$missing and }a Debian security archive (an entry for suite <codename>-security)"
if [ -n "$missing" ]; then
  echo "apt-mirror.sh: the apt configuration in $apt_etc has no entry for $missing." >&2
  echo "  Add it to /etc/apt/sources.list.d/debian.sources, or set XCPNG_DEBIAN_MIRROR / XCPNG_DEBIAN_SECURITY_MIRROR to the URIs of a Debian mirror this machine can reach." >&2
  exit 1
fi
printf 'DEBIAN_MIRROR=%s\nDEBIAN_SECURITY_MIRROR=%s\n' "$mirror" "$security"
