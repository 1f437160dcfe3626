# Local build path of the embedded default: a Debian template built on this machine instead of a pool.
# Only Packer's built-in `null` builder and `shell-local` provisioner are used, so no plugin is needed.
# Its defaults build Debian 12; a variable file selects another release (one template, one set of steps):
#   packer/build.sh packer/local/debian12-local.pkr.hcl                                    Debian 12 (bookworm)
#   packer/build.sh packer/local/debian12-local.pkr.hcl packer/local/debian-13.pkrvars.hcl  Debian 13 (trixie)
# Steps: check requirements, debootstrap (cached), the same provisioning scripts as the xenserver-iso
# template run in a chroot, a raw disk image with a BIOS boot layout, then XVA packing and import into devpool.
#
# The pool (devpool) is reached with PKR_VAR_pool_url, PKR_VAR_pool_username, PKR_VAR_pool_password and
# PKR_VAR_pool_ca_file, read from the environment the steps inherit, not declared here: shell-local puts its
# `env` values on the command line of /bin/sh, where any local user could read a password.
packer {
  required_version = ">= 1.9.4"
}

variable "template_name" {
  type        = string
  default     = "debian-12-local"
  description = "Catalogue name of the template."
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{0,62}$", var.template_name))
    error_message = "The template_name must be lower-case letters, digits, dots and dashes (at most 63), e.g. debian-12."
  }
}

variable "build_id" {
  type        = string
  description = "Identifier of this build, chosen by the caller; names and tags the imported template."
  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", var.build_id))
    error_message = "The build_id must be 1 to 64 letters, digits, dots, underscores or dashes, starting with a letter or digit."
  }
}

variable "suite" {
  type        = string
  default     = "bookworm"
  description = "Debian suite to debootstrap."
}

variable "os_scripts" {
  type        = list(string)
  default     = ["debian/debian_specific.sh", "debian/install_guest_agent.sh"]
  description = "OS-specific scripts, relative to packer/; the same list as packer/os_pkrvars/debian-12.pkrvars.hcl (a test keeps them equal)."
}

variable "extra_scripts" {
  type        = list(string)
  default     = []
  description = "Scripts run after cleanup.sh, relative to packer/ (tests use it for a deliberately broken variant, e.g. tests/fixtures/acceptance/broken.pkrvars.hcl)."
}

variable "disk_size_mib" {
  type        = number
  default     = 4096
  description = "Size of the template's disk, MiB."
}

variable "tags" {
  type        = list(string)
  default     = []
  description = "Extra XAPI tags for the imported template."
}

variable "cache_directory" {
  type        = string
  default     = ""
  description = "Where debootstrap results are cached; empty means $XDG_CACHE_HOME/xcpng-templates/rootfs (or ~/.cache/...)."
}

variable "work_directory" {
  type        = string
  default     = ""
  description = "Where the rootfs and the disk image are built; empty means a new temporary directory, removed at the end."
}

variable "pack_and_import" {
  type        = bool
  default     = true
  description = "Pack the disk as an XVA and import it into devpool (packer/local/pack-and-import.ts); false stops at the disk image."
}

locals {
  scripts = concat(
    ["common/update_system.sh"],
    var.os_scripts,
    ["common/harden_ssh.sh", "common/harden_system.sh", "common/cleanup.sh"],
    var.extra_scripts
  )
}

source "null" "local" {
  communicator = "none"
}

build {
  name    = "local"
  sources = ["source.null.local"]

  provisioner "shell-local" {
    inline_shebang = "/bin/bash -e"
    env = {
      XCPNG_PACKER_DIR      = "${path.root}/.."
      XCPNG_WORK_DIRECTORY  = var.work_directory
      XCPNG_ROOTFS_CACHE    = var.cache_directory
      XCPNG_SUITE           = var.suite
      XCPNG_SCRIPTS         = join(" ", local.scripts)
      XCPNG_DISK_SIZE_MIB   = var.disk_size_mib
      XCPNG_TEMPLATE_NAME   = var.template_name
      XCPNG_BUILD_ID        = var.build_id
      XCPNG_TAGS            = join(",", var.tags)
      XCPNG_PACK_AND_IMPORT = var.pack_and_import ? "1" : "0"
    }
    inline = ["exec bash \"$XCPNG_PACKER_DIR/local/build-local.sh\""]
  }
}
