# Debian 13 (trixie) on the local build path: packer/build.sh packer/local/debian12-local.pkr.hcl <this file>.
# Same steps and scripts as Debian 12 (the template's defaults); only the release and the name differ.
template_name = "debian-13-local"
suite         = "trixie"
os_scripts    = ["debian/debian_specific.sh", "debian/install_guest_agent.sh"]
