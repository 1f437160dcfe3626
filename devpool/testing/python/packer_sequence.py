"""The XAPI calls of the vatesfr packer plugin (xenserver-iso builder, then its xva builder), in the plugin's order
and with its Go client's conventions (4-parameter login, ints sent as strings, task polling), replayed with
Python's standard xmlrpc.client and http.client (xapi-protocol.md §F.2).

Phase "build" runs up to the VNC console (which packer then opens for the boot command: devpool has no guest, so
the sequence stops there), phase "finish" resumes at the wait for the guest IP (the test plays the guest agent in
between) and runs shutdown, template conversion, VDI detach, XVA and raw VDI exports, the xva builder's import and
cleanup.

Environment: DEVPOOL_URL, DEVPOOL_USERNAME, DEVPOOL_PASSWORD. Arguments: <phase> <state.json> <workdir>.
Prints a JSON object of observations.
"""
import base64
import http.client
import json
import os
import sys
import time
import urllib.parse
import xmlrpc.client

url = os.environ["DEVPOOL_URL"]
user = os.environ["DEVPOOL_USERNAME"]
password = os.environ["DEVPOOL_PASSWORD"]
phase, state_file, workdir = sys.argv[1], sys.argv[2], sys.argv[3]
parts = urllib.parse.urlsplit(url)
proxy = xmlrpc.client.ServerProxy(url + "/", allow_none=True)
out = {"calls": 0}


def call(method, *args):
    """One call; returns Value, raises on Failure with the ErrorDescription, as the Go client does."""
    fn = proxy
    for part in method.split("."):
        fn = getattr(fn, part)
    r = fn(*args)
    out["calls"] += 1
    if r["Status"] != "Success":
        raise RuntimeError(json.dumps(r["ErrorDescription"]))
    return r["Value"]


def failure(method, *args):
    try:
        call(method, *args)
    except RuntimeError as e:
        return json.loads(str(e))
    return None


def http_request(method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    return conn, r


def wait_task(s, task):
    """Packer's loop: task.get_status / get_progress every interval, get_error_info on failure."""
    for _ in range(600):
        status = call("task.get_status", s, task)
        call("task.get_progress", s, task)
        if status == "success":
            return call("task.get_result", s, task)
        if status != "pending":
            raise RuntimeError(json.dumps(call("task.get_error_info", s, task)))
        time.sleep(0.05)
    raise RuntimeError("task still pending")


def upload_vdi(s, sr, name, data):
    vdi = call("VDI.create", s, {"name_label": name, "name_description": "", "SR": sr,
                                 "virtual_size": str(len(data)), "type": "user", "sharable": False,
                                 "read_only": False, "other_config": {"temp": "temp"}})
    call("VDI.get_uuid", s, vdi)
    task = call("task.create", s, "packer-task", "Packer task")
    q = urllib.parse.urlencode({"vdi": vdi, "session_id": s, "task_id": task})
    conn, r = http_request("PUT", "/import_raw_vdi?" + q, body=data, headers={"Content-Length": str(len(data))})
    status = r.status
    r.read()
    conn.close()
    result = wait_task(s, task)
    call("task.destroy", s, task)
    return vdi, status, result


if phase == "build":
    s = call("session.login_with_password", user, password, "1.0", "packer")
    out["hosts"] = len(call("host.get_all", s))
    host = call("session.get_this_host", s, s)
    pool = call("pool.get_all", s)[0]
    out["master_is_this_host"] = call("pool.get_master", s, pool) == host
    sr = call("pool.get_default_SR", s, pool)
    iso = bytes(range(256)) * 4096 * 3  # 3 MiB "ISO"
    cd, put_status, result = upload_vdi(s, sr, "Packer-CD", iso)
    out["upload"] = {"status": put_status, "result": result}
    found = call("VDI.get_by_name_label", s, "Packer-CD")
    out["iso_lookup"] = len(found)
    cd_uuid = call("VDI.get_uuid", s, found[0])
    out["existing_templates"] = call("VM.get_by_name_label", s, "packer-vm")
    tpls = call("VM.get_by_name_label", s, "Other install media")
    out["clone_template_matches"] = len(tpls)
    vm = call("VM.clone", s, tpls[0], "packer-vm")
    call("VM.set_is_a_template", s, vm, False)
    call("VM.set_VCPUs_max", s, vm, "2")
    call("VM.set_VCPUs_at_startup", s, vm, "2")
    mem = str(1024 * 1024 * 1024)
    call("VM.set_memory_limits", s, vm, mem, mem, mem, mem)
    platform = call("VM.get_platform", s, vm)
    platform["viridian"] = "false"
    call("VM.set_platform", s, vm, platform)
    call("VM.set_name_description", s, vm, "built by packer")
    oc = call("VM.get_other_config", s, vm)
    oc["packer"] = "yes"
    call("VM.set_other_config", s, vm, oc)
    call("VM.remove_from_other_config", s, vm, "disks")
    disk = call("VDI.create", s, {"name_label": "packer-vm-disk", "name_description": "", "SR": sr,
                                  "virtual_size": str(64 * 1024 * 1024), "type": "user", "sharable": False,
                                  "read_only": False, "other_config": {"temp": "temp"}})
    vbd = call("VBD.create", s, {"VM": vm, "VDI": disk, "userdevice": "autodetect", "empty": False,
                                 "other_config": {}, "mode": "RW", "type": "Disk", "bootable": False,
                                 "unpluggable": False, "qos_algorithm_type": "", "qos_algorithm_params": {}})
    call("VBD.get_uuid", s, vbd)
    network = None
    for pif in call("PIF.get_all", s):
        rec = call("PIF.get_record", s, pif)
        if rec["management"]:
            network = rec["network"]
    out["management_network"] = call("network.get_name_label", s, network)
    call("VIF.create", s, {"network": network, "VM": vm, "device": "0", "MAC": "", "MTU": "1500",
                           "other_config": {}, "qos_algorithm_type": "", "qos_algorithm_params": {},
                           "locking_mode": "network_default", "ipv4_allowed": [], "ipv6_allowed": []})
    call("VM.add_tags", s, vm, "packer")
    vm_uuid = call("VM.get_uuid", s, vm)
    cd_ref = call("VDI.get_by_uuid", s, cd_uuid)
    vm = call("VM.get_by_uuid", s, vm_uuid)
    cd_vbd = call("VBD.create", s, {"VM": vm, "VDI": cd_ref, "userdevice": "autodetect", "empty": False,
                                    "other_config": {}, "mode": "RO", "type": "CD", "bootable": True,
                                    "unpluggable": False, "qos_algorithm_type": "", "qos_algorithm_params": {}})
    call("VBD.get_uuid", s, cd_vbd)
    call("VM.set_HVM_boot_policy", s, vm, "BIOS order")
    call("VM.set_HVM_boot_params", s, vm, {"order": "cd", "firmware": "bios"})
    call("VM.start", s, vm, True, False)
    out["domid"] = call("VM.get_domid", s, vm)
    out["power_after_start"] = call("VM.get_power_state", s, vm)
    resident = call("VM.get_resident_on", s, vm)
    out["host_address"] = call("host.get_address", s, resident)
    call("VM.unpause", s, vm)
    consoles = call("VM.get_consoles", s, vm)
    out["consoles"] = len(consoles)
    out["console_location"] = call("console.get_location", s, consoles[0])
    out["guest_metrics_before"] = call("VM.get_guest_metrics", s, vm)
    json.dump({"session": s, "vm_uuid": vm_uuid, "cd_uuid": cd_uuid, "sr": sr}, open(state_file, "w"))
else:
    st = json.load(open(state_file))
    s = st["session"]
    vm = call("VM.get_by_uuid", s, st["vm_uuid"])
    gm = call("VM.get_guest_metrics", s, vm)
    out["guest_ip"] = call("VM_guest_metrics.get_record", s, gm)["networks"].get("0/ip")
    call("VM.clean_shutdown", s, vm)
    out["power_after_shutdown"] = call("VM.get_power_state", s, vm)
    vm = call("VM.get_by_uuid", s, st["vm_uuid"])
    call("VM.set_is_a_template", s, vm, True)
    out["is_template"] = call("VM.get_is_a_template", s, vm)
    cd_ref = call("VDI.get_by_uuid", s, st["cd_uuid"])
    out["unplug_errors"] = []
    for vbd in call("VM.get_VBDs", s, vm):
        rec = call("VBD.get_record", s, vbd)
        if rec["VDI"] == cd_ref:
            err = failure("VBD.unplug", s, vbd)  # packer ignores this error
            out["unplug_errors"].append(err)
            call("VBD.destroy", s, vbd)
    out["vbds_after_detach"] = len(call("VM.get_VBDs", s, vm))

    # StepExport, format xva_compressed: GET /export?use_compression=true&uuid=...&session_id=..., no task_id
    q = urllib.parse.urlencode({"use_compression": "true", "uuid": st["vm_uuid"], "session_id": s})
    conn, r = http_request("GET", "/export?" + q)
    xva_path = os.path.join(workdir, "packer-vm.xva")
    with open(xva_path, "wb") as f:
        while True:
            piece = r.read(1 << 20)
            if not piece:
                break
            f.write(piece)
    out["export"] = {"status": r.status, "content_length": r.getheader("Content-Length"),
                     "task_id": r.getheader("task-id") is not None, "bytes": os.path.getsize(xva_path)}
    conn.close()
    out["xva_path"] = xva_path

    # StepExport, format vdi_raw: the Disk VBD's VDI, the host version, then Basic-auth /export_raw_vdi
    for vbd in call("VM.get_VBDs", s, vm):
        if call("VBD.get_record", s, vbd)["type"] == "Disk":
            vdi_uuid = call("VDI.get_uuid", s, call("VBD.get_VDI", s, vbd))
    host = call("host.get_all", s)[0]
    out["product_version"] = call("host.get_software_version", s, host)["product_version"]
    auth = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    conn, r = http_request("GET", "/export_raw_vdi?vdi=" + vdi_uuid, headers={"Authorization": "Basic " + auth})
    raw = r.read()
    out["raw_export"] = {"status": r.status, "bytes": len(raw), "nonzero": any(raw)}
    conn.close()
    conn, r = http_request("GET", "/export_raw_vdi?vdi=" + vdi_uuid, headers={"Authorization": "Basic bm86bm8="})
    out["raw_export_bad_auth"] = {"status": r.status, "www_authenticate": r.getheader("WWW-Authenticate")}
    r.read()
    conn.close()

    # xva builder: first SR of SR.get_all... that can take VMs, PUT /import, poll the task, cast the result
    srs = [sr for sr in call("SR.get_all", s) if call("SR.get_content_type", s, sr) != "iso"]
    task = call("task.create", s, "packer-task", "Packer task")
    body = open(xva_path, "rb").read()
    q = urllib.parse.urlencode({"session_id": s, "sr_id": st["sr"], "task_id": task})
    conn, r = http_request("PUT", "/import?" + q, body=body, headers={"Content-Length": str(len(body))})
    out["import_status"] = r.status
    r.read()
    conn.close()
    result = wait_task(s, task)
    out["import_result"] = result
    out["import_sr_candidates"] = len(srs)
    imported = xmlrpc.client.loads("<methodResponse><params><param>%s</param></params></methodResponse>" % result)[0][0]
    out["imported_names"] = [call("VM.get_name_label", s, ref) for ref in imported]
    out["imported_uuid"] = call("VM.get_uuid", s, imported[0])
    call("task.destroy", s, task)

    # cleanup of the uploaded ISO (packer destroys it, up to 3 tries)
    call("VDI.destroy", s, cd_ref)
    out["cd_after_cleanup"] = call("VDI.get_by_name_label", s, "Packer-CD")
    call("session.logout", s)

print(json.dumps(out))
