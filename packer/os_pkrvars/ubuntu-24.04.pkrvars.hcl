# Ubuntu 24.04 LTS (noble), live server ISO, autoinstall seed (user-data, meta-data) served from
# packer/ubuntu/http as a NoCloud data source.
os_name        = "ubuntu"
os_version     = "24.04"
template_name  = "ubuntu-24.04"
clone_template = "Ubuntu Noble Numbat 24.04"
iso_url        = "https://releases.ubuntu.com/24.04.3/ubuntu-24.04.3-live-server-amd64.iso"
iso_checksum   = "file:https://releases.ubuntu.com/24.04.3/SHA256SUMS"
os_scripts     = ["ubuntu/ubuntu_specific.sh", "ubuntu/install_guest_agent.sh"]
# GRUB command line: the seed URL is quoted because ';' separates GRUB commands.
boot_command = [
  "<wait>c<wait5>",
  "linux /casper/vmlinuz autoinstall 'ds=nocloud;s=http://{{ .HTTPIP }}:{{ .HTTPPort }}/' ---<enter><wait>",
  "initrd /casper/initrd<enter><wait>",
  "boot<enter>"
]
