# Inputs of the one xenserver-iso source shared by every OS of the catalogue. OS-specific values come from
# packer/os_pkrvars/<os>.pkrvars.hcl; pool credentials and the build password only from the environment
# (PKR_VAR_pool_username, PKR_VAR_pool_password, PKR_VAR_build_password), never from a file or argv.

# --- Pool -------------------------------------------------------------------------------------------------
variable "pool_url" {
  type        = string
  description = "XAPI endpoint of the pool primary, https://host[:port]. The plugin also SSHes to this host (port remote_ssh_port) to forward the guest's SSH."
  validation {
    condition     = can(regex("^https://[A-Za-z0-9.:\\[\\]-]+/?$", var.pool_url))
    error_message = "The pool_url must be https://<pool primary host>[:port] with no path, e.g. https://xcp-pool-1.example.org."
  }
}

variable "pool_username" {
  type        = string
  sensitive   = true
  description = "XAPI user of the pool (root on XCP-ng). Set PKR_VAR_pool_username."
}

variable "pool_password" {
  type        = string
  sensitive   = true
  description = "Password of pool_username. Set PKR_VAR_pool_password."
}

variable "pool_ssh_port" {
  type        = number
  default     = 22
  description = "SSH port of the pool primary (dom0), used by the plugin to reach the guest."
}

variable "sr_name" {
  type        = string
  default     = ""
  description = "Name label of the SR for the VM's disk; empty means the pool's default SR."
}

variable "sr_iso_name" {
  type        = string
  default     = ""
  description = "Name label of the SR the installer ISO is uploaded to (found there by name on later builds); empty means the default SR."
}

variable "network_name" {
  type        = string
  default     = "Pool-wide network associated with eth0"
  description = "Name label of the pool network the build VM joins (default: XCP-ng's label for the first NIC's network); it needs DHCP and a route to the OS mirror."
}

variable "tools_iso_name" {
  type        = string
  default     = "guest-tools.iso"
  description = "Name of the XCP-ng guest tools ISO on the pool (attached as a CD so the guest agent can be installed where the distribution has none)."
}

# --- Installer --------------------------------------------------------------------------------------------
variable "iso_url" {
  type        = string
  description = "URL of the installer ISO."
}

variable "iso_checksum" {
  type        = string
  description = "Checksum of the ISO: \"sha256:<hex>\" or \"file:<url of a SHA256SUMS file>\"."
  validation {
    condition     = can(regex("^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}|file:.+)$", var.iso_checksum))
    error_message = "The iso_checksum must be sha256:<64 hex>, sha512:<128 hex> or file:<checksum file URL>; \"none\" is not accepted."
  }
}

variable "boot_command" {
  type        = list(string)
  description = "Keys typed at the installer's boot prompt. @@MIRROR_HOST@@ and @@MIRROR_DIRECTORY@@ are replaced by mirror_host and mirror_directory."
}

variable "boot_wait" {
  type        = string
  default     = "10s"
  description = "Time between VM start and typing boot_command."
}

variable "http_directory" {
  type        = string
  description = "Directory served to the installer (preseed or autoinstall seed). packer/build.sh renders packer/<os>/http into a temporary copy with the build user's password hash."
}

variable "mirror_host" {
  type        = string
  default     = ""
  description = "Host of the distribution mirror used by the installer (Debian: mirror/http/hostname)."
}

variable "mirror_directory" {
  type        = string
  default     = ""
  description = "Path of the distribution mirror on mirror_host (Debian: mirror/http/directory)."
}

variable "install_timeout" {
  type        = string
  default     = "45m"
  description = "Budget for the installer to finish and the VM to get an IP (the plugin's default is 200m)."
}

variable "ssh_timeout" {
  type        = string
  default     = "60m"
  description = "How long Packer waits for SSH into the installed system."
}

# --- Build user (exists only during the build; cleanup.sh removes it) ---------------------------------------
variable "build_username" {
  type        = string
  default     = "xcpng-build"
  description = "Account created by the installer for Packer's SSH communicator."
  validation {
    condition     = can(regex("^[a-z_][a-z0-9_-]{0,30}$", var.build_username))
    error_message = "The build_username must be a POSIX user name: lower-case letters, digits, _ and -, at most 31 characters."
  }
}

variable "build_password" {
  type        = string
  sensitive   = true
  description = "Password of the build user for this build only. packer/build.sh generates a random one when PKR_VAR_build_password is unset."
}

# --- Hardware -----------------------------------------------------------------------------------------------
variable "vcpus" {
  type        = number
  default     = 2
  description = "vCPUs of the build VM and of the template."
}

variable "memory_mib" {
  type        = number
  default     = 2048
  description = "Memory of the build VM and of the template, MiB."
}

variable "disk_size_mib" {
  type        = number
  default     = 10240
  description = "Size of the template's disk, MiB (clones grow the root partition with cloud-init's growpart)."
}

variable "clone_template" {
  type        = string
  description = "XCP-ng template the build VM is cloned from (sets virtual hardware and platform flags), e.g. \"Debian Bookworm 12\"."
}

# --- Identity of the result ---------------------------------------------------------------------------------------
variable "os_name" {
  type        = string
  description = "OS family: debian or ubuntu (selects packer/<os_name>/ scripts)."
  validation {
    condition     = contains(["debian", "ubuntu"], var.os_name)
    error_message = "The os_name must be debian or ubuntu."
  }
}

variable "os_version" {
  type        = string
  description = "OS version, e.g. 12, 13, 24.04."
}

variable "os_scripts" {
  type        = list(string)
  description = "OS-specific provisioning scripts, relative to packer/, run after common/update_system.sh and before the hardening and cleanup scripts."
}

variable "template_name" {
  type        = string
  description = "Catalogue name of the template, e.g. debian-12. The pool template is named <template_name>-<build_id>."
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{0,62}$", var.template_name))
    error_message = "The template_name must be lower-case letters, digits, dots and dashes (at most 63), e.g. debian-12."
  }
}

variable "build_id" {
  type        = string
  description = "Identifier of this build, chosen by the caller (the Pulumi program); names and tags the template so it can be found through XAPI."
  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", var.build_id))
    error_message = "The build_id must be 1 to 64 letters, digits, dots, underscores or dashes, starting with a letter or digit."
  }
}

variable "tags" {
  type        = list(string)
  default     = []
  description = "Extra XAPI tags for the template."
}

variable "output_directory" {
  type        = string
  default     = null
  description = "Directory the plugin prepares for exports; nothing is exported (format = none), packer/build.sh points it at a temporary directory."
}
