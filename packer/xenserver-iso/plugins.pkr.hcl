# The XCP-ng builder (vatesfr/packer-plugin-xenserver). No `packer init`: packer/build.sh and the tests
# look the plugin up in PACKER_PLUGIN_PATH, where tools/bootstrap.sh installs it.
packer {
  required_version = ">= 1.9.4"
  required_plugins {
    xenserver = {
      source  = "github.com/vatesfr/xenserver"
      version = ">= 0.11.4"
    }
  }
}
