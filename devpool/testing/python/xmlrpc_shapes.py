"""XML-RPC envelope and error shapes seen by Python's standard xmlrpc.client (a client we did not write).

Environment: DEVPOOL_URL, DEVPOOL_USERNAME, DEVPOOL_PASSWORD. Prints one JSON object of observations; the
TypeScript test decides what is right.
"""
import http.client
import json
import os
import urllib.parse
import xmlrpc.client

url = os.environ["DEVPOOL_URL"]
user = os.environ["DEVPOOL_USERNAME"]
password = os.environ["DEVPOOL_PASSWORD"]
out = {}


class Capture(xmlrpc.client.Transport):
    """Keeps the raw bytes of the last response, to check the envelope byte for byte."""

    last = b""

    def parse_response(self, response):
        body = response.read()
        Capture.last = body
        p, u = self.getparser()
        p.feed(body)
        p.close()
        return u.close()


proxy = xmlrpc.client.ServerProxy(url + "/", transport=Capture(), allow_none=True)

login = proxy.session.login_with_password(user, password, "1.0", "python")
out["login"] = login
out["login_raw"] = Capture.last.decode()
s = login["Value"]

out["bad_login"] = proxy.session.login_with_password(user, password + "x")
out["bad_login_raw"] = Capture.last.decode()

refs = proxy.VM.get_by_name_label(s, "Other install media")["Value"]
rec = proxy.VM.get_record(s, refs[0])["Value"]
out["record_types"] = {
    k: type(rec[k]).__name__
    for k in ["memory_static_max", "is_a_template", "HVM_shadow_multiplier", "snapshot_time", "tags", "other_config"]
}
out["snapshot_time"] = rec["snapshot_time"].value
out["memory_static_max"] = rec["memory_static_max"]

out["handle_invalid"] = proxy.VM.get_record(s, "OpaqueRef:bad")
out["session_invalid"] = proxy.VM.get_all("OpaqueRef:not-a-session")
out["count_mismatch"] = proxy.VM.get_record(s)
out["unknown"] = proxy.VM.no_such_method(s)
out["bad_power_state"] = proxy.VM.clean_shutdown(s, refs[0])
methods = proxy.system.listMethods()
out["list_methods_type"] = type(methods).__name__
out["list_methods_has"] = [m for m in ["VM.get_all_records", "session.login_with_password", "event.from"] if m in methods]
out["void_result"] = proxy.VM.set_name_description(s, refs[0], proxy.VM.get_name_description(s, refs[0])["Value"])

event = getattr(proxy.event, "from")(s, ["pool"], "", 0.1)["Value"]
out["event_token"] = event["token"]
out["event_first"] = {k: event["events"][0][k] for k in ["class", "operation", "timestamp", "id"]}
out["valid_ref_counts_task_type"] = type(event["valid_ref_counts"]["task"]).__name__

parts = urllib.parse.urlsplit(url)
conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
conn.request("POST", "/", body=b"this is not xml", headers={"Content-Type": "text/xml"})
r = conn.getresponse()
out["malformed"] = {"status": r.status, "content_type": r.getheader("Content-Type"), "body": r.read().decode()}
conn.close()
conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
conn.request("POST", "/jsonrpc", body=json.dumps({"jsonrpc": "2.0", "method": "VM.get_all", "params": [s]}),
             headers={"Content-Type": "application/json"})
r = conn.getresponse()
out["json_no_id"] = {"status": r.status, "content_type": r.getheader("Content-Type")}
r.read()
conn.close()
conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
conn.request("POST", "/jsonrpc", body=json.dumps({"jsonrpc": "2.0", "method": "VM.get_all", "params": [s], "id": 3}),
             headers={"Content-Type": "application/json"})
r = conn.getresponse()
out["json_ok"] = {"status": r.status, "content_type": r.getheader("Content-Type"), "keys": sorted(json.loads(r.read()))}
conn.close()

proxy.session.logout(s)
out["after_logout"] = proxy.VM.get_all(s)
print(json.dumps(out))
