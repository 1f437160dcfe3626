# Debian 12 (bookworm), netinst ISO, preseed served from packer/debian/http.
os_name        = "debian"
os_version     = "12"
template_name  = "debian-12"
clone_template = "Debian Bookworm 12"
iso_url        = "https://cdimage.debian.org/cdimage/archive/12.12.0/amd64/iso-cd/debian-12.12.0-amd64-netinst.iso"
iso_checksum   = "file:https://cdimage.debian.org/cdimage/archive/12.12.0/amd64/iso-cd/SHA256SUMS"
# mirror_host: the Debian mirror the installer uses; set PKR_VAR_mirror_host for your site (no default here).
mirror_directory = "/debian"
os_scripts       = ["debian/debian_specific.sh", "debian/install_guest_agent.sh"]
# isolinux: <esc> leaves the graphical menu; "auto" delays locale and keyboard questions until the preseed
# is loaded. Everything before "---" stays in the installer, nothing is copied to the installed system.
boot_command = [
  "<wait><esc><wait>auto preseed/url=http://{{ .HTTPIP }}:{{ .HTTPPort }}/preseed.cfg priority=critical locale=en_US.UTF-8 keymap=us netcfg/get_hostname=debian netcfg/get_domain= mirror/http/hostname=@@MIRROR_HOST@@ mirror/http/directory=@@MIRROR_DIRECTORY@@ ---<enter>"
]
