#!/usr/bin/env bash
# XCP-ng guest agent for Debian, so VM_guest_metrics reports the OS and the IP addresses. Debian 12's archive
# has no agent; Debian 13 may offer xen-guest-agent. Otherwise it comes from the pool's guest tools ISO, which
# the xenserver-iso source attaches (variable tools_iso_name).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../common/lib.sh
. "${XCPNG_LIB:-$(dirname "$0")/../common/lib.sh}"
require_root

install_guest_agent xen-guest-agent xe-guest-utilities
