# Provisioning order, the same for every OS and for the local chroot build (packer/local/):
# update, OS specifics (guest agent included), SSH hardening, system hardening, cleanup.
locals {
  scripts = concat(
    ["${path.root}/../common/update_system.sh"],
    [for s in var.os_scripts : "${path.root}/../${s}"],
    [
      "${path.root}/../common/harden_ssh.sh",
      "${path.root}/../common/harden_system.sh",
      "${path.root}/../common/cleanup.sh",
    ]
  )
}

build {
  name    = "xcpng"
  sources = ["source.xenserver-iso.template"]

  # Packer uploads each script alone; the helpers they source go first.
  provisioner "file" {
    source      = "${path.root}/../common/lib.sh"
    destination = "/tmp/xcpng-lib.sh"
  }

  provisioner "shell" {
    scripts          = local.scripts
    execute_command  = "chmod +x {{ .Path }}; sudo env {{ .Vars }} bash {{ .Path }}"
    environment_vars = ["XCPNG_LIB=/tmp/xcpng-lib.sh", "BUILD_USER=${var.build_username}", "DEBIAN_FRONTEND=noninteractive"]
  }
}
