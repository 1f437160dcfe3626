# The one source definition of the catalogue (bento style): every OS differs only by its variable file.
# The build ends with the VM converted to a template on the pool (the plugin's StepSetVmToTemplate) and kept
# (keep_vm = "on_success"; "never" would destroy it in StepCreateInstance's cleanup). Nothing is exported
# (format = "none"): the plugin's export skips TLS verification and puts the session in the URL, so the
# project's providers stream the XVA themselves.
locals {
  vm_name = "${var.template_name}-${var.build_id}"
  boot_command = [
    for line in var.boot_command :
    replace(replace(line, "@@MIRROR_HOST@@", var.mirror_host), "@@MIRROR_DIRECTORY@@", var.mirror_directory)
  ]
}

source "xenserver-iso" "template" {
  remote_host     = trimsuffix(trimprefix(var.pool_url, "https://"), "/")
  remote_ssh_port = var.pool_ssh_port
  remote_username = var.pool_username
  remote_password = var.pool_password

  iso_url        = var.iso_url
  iso_checksum   = var.iso_checksum
  sr_iso_name    = var.sr_iso_name
  tools_iso_name = var.tools_iso_name

  clone_template  = var.clone_template
  firmware        = "bios"
  vcpus_max       = var.vcpus
  vcpus_atstartup = var.vcpus
  vm_memory       = var.memory_mib
  disk_name       = "${local.vm_name}-root"
  disk_size       = var.disk_size_mib
  sr_name         = var.sr_name
  network_names   = [var.network_name]

  vm_name        = local.vm_name
  vm_description = "${var.os_name} ${var.os_version} built by xcpng-templates, build ${var.build_id}"
  vm_tags        = concat(["xcpng-templates", "template:${var.template_name}", "build-id:${var.build_id}"], var.tags)
  vm_other_config = {
    "xcpng-templates-template" = var.template_name
    "xcpng-templates-build-id" = var.build_id
    "xcpng-templates-os"       = "${var.os_name} ${var.os_version}"
  }

  http_directory  = var.http_directory
  boot_wait       = var.boot_wait
  boot_command    = local.boot_command
  install_timeout = var.install_timeout
  ip_getter       = "auto"

  communicator           = "ssh"
  ssh_username           = var.build_username
  ssh_password           = var.build_password
  ssh_timeout            = var.ssh_timeout
  ssh_handshake_attempts = 50

  format           = "none"
  keep_vm          = "on_success"
  output_directory = var.output_directory
}
