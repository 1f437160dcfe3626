# Provisioning order, the same for every OS and for the local chroot build (packer/local/):
# update, OS specifics (guest agent included), SSH hardening, system hardening, cleanup.
# Before cleanup (which locks the build user out), the image's package database is collected in the guest and
# brought back; on the runner it becomes the build's SBOM (packer/write-sbom.ts, to XCPNG_SBOM_FILE).
locals {
  scripts = concat(
    ["${path.root}/../common/update_system.sh"],
    [for s in var.os_scripts : "${path.root}/../${s}"],
    [
      "${path.root}/../common/harden_ssh.sh",
      "${path.root}/../common/harden_system.sh",
    ]
  )
  # lib/sbom guestCollectCommand("/tmp/xcpng-package-db.tar.gz"), character for character (a unit test,
  # packer/sbom-collect.test.ts, keeps them equal): dpkg's status, os-release and the packages' copyright files.
  package_db_collect = "cd '/' && { echo var/lib/dpkg/status; for f in etc/os-release usr/lib/os-release; do if [ -e \"$f\" ] || [ -L \"$f\" ]; then echo \"$f\"; fi; done; find usr/share/doc -mindepth 1 -maxdepth 1 -type l; find usr/share/doc -mindepth 2 -maxdepth 2 -name copyright; } | tar -c -z --no-recursion -T - -f '/tmp/xcpng-package-db.tar.gz'"
  # Where the collected database lands on the runner: the build's private output directory (build.sh sets it).
  package_db_archive = "${coalesce(var.output_directory, path.cwd)}/xcpng-package-db.tar.gz"
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

  # The package database, as the SBOM reads it, collected before cleanup (which empties /tmp afterwards).
  provisioner "shell" {
    inline          = [local.package_db_collect]
    execute_command = "chmod +x {{ .Path }}; sudo sh {{ .Path }}"
  }

  provisioner "file" {
    direction   = "download"
    source      = "/tmp/xcpng-package-db.tar.gz"
    destination = local.package_db_archive
  }

  provisioner "shell" {
    scripts          = ["${path.root}/../common/cleanup.sh"]
    execute_command  = "chmod +x {{ .Path }}; sudo env {{ .Vars }} bash {{ .Path }}"
    environment_vars = ["XCPNG_LIB=/tmp/xcpng-lib.sh", "BUILD_USER=${var.build_username}", "DEBIAN_FRONTEND=noninteractive"]
  }

  # On the runner: the SBOM from the collected database (the same document the local path makes from its rootfs).
  provisioner "shell-local" {
    inline_shebang = "/bin/bash -e"
    env = {
      XCPNG_PACKER_DIR    = "${path.root}/.."
      XCPNG_TEMPLATE_NAME = var.template_name
      XCPNG_BUILD_ID      = var.build_id
      XCPNG_PACKAGE_DB    = local.package_db_archive
    }
    inline = [
      "tsx=$XCPNG_PACKER_DIR/../node_modules/.bin/tsx; [ -x \"$tsx\" ] || tsx=tsx",
      "\"$tsx\" \"$XCPNG_PACKER_DIR/write-sbom.ts\" --guest-archive \"$XCPNG_PACKAGE_DB\" --template \"$XCPNG_TEMPLATE_NAME\" --build-id \"$XCPNG_BUILD_ID\"",
      "rm -f \"$XCPNG_PACKAGE_DB\"",
    ]
  }
}
