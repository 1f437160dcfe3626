#!/usr/bin/env bash
# XCP-ng guest agent for Ubuntu, so VM_guest_metrics reports the OS and the IP addresses: Ubuntu's
# xe-guest-utilities (universe), else the package on the pool's guest tools ISO (variable tools_iso_name).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../common/lib.sh
. "${XCPNG_LIB:-$(dirname "$0")/../common/lib.sh}"
require_root

install_guest_agent xe-guest-utilities xen-guest-agent
