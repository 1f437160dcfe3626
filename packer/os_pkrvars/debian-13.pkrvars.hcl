# Debian 13 (trixie), netinst ISO, the same preseed as Debian 12 (packer/debian/http).
# XCP-ng 8.3 has no "Debian Trixie 13" template on every pool yet; the Bookworm one sets the same hardware.
os_name        = "debian"
os_version     = "13"
template_name  = "debian-13"
clone_template = "Debian Bookworm 12"
iso_url        = "https://cdimage.debian.org/cdimage/archive/13.1.0/amd64/iso-cd/debian-13.1.0-amd64-netinst.iso"
iso_checksum   = "file:https://cdimage.debian.org/cdimage/archive/13.1.0/amd64/iso-cd/SHA256SUMS"
# mirror_host: the Debian mirror the installer uses; set PKR_VAR_mirror_host for your site (no default here).
mirror_directory = "/debian"
os_scripts       = ["debian/debian_specific.sh", "debian/install_guest_agent.sh"]
boot_command = [
  "<wait><esc><wait>auto preseed/url=http://{{ .HTTPIP }}:{{ .HTTPPort }}/preseed.cfg priority=critical locale=en_US.UTF-8 keymap=us netcfg/get_hostname=debian netcfg/get_domain= mirror/http/hostname=@@MIRROR_HOST@@ mirror/http/directory=@@MIRROR_DIRECTORY@@ ---<enter>"
]
