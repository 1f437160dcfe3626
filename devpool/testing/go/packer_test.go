// The XAPI calls of the XCP-ng Packer plugin (vatesfr/packer-plugin-xenserver), made with the plugin's own
// client: github.com/terra-farm/go-xen-api-client v0.0.2 over github.com/amfranz/go-xmlrpc-client, typed methods
// only, every record decoded by the client's strict decoders. The steps follow the plugin's
// builder/xenserver/iso/builder.go and its builder/xenserver/common/step_*.go files, in their order; each step
// function names the file it replays.
//
// devpool has no guest, so the wrapper (devpool/devpool.go.integ.test.ts) runs the sequence in two phases:
// TestPackerIsoBuild up to the VNC console (where packer types the boot command), then the wrapper plays the guest
// agent (VM_guest_metrics networks), then TestPackerIsoFinish from the wait for the guest IP to the cleanup.
// The phases share the session and uuids through the JSON file named by DEVPOOL_STATE.
//
// Environment (set by the wrapper): DEVPOOL_HOST (host:port, the plugin's `remote_host`), DEVPOOL_USERNAME,
// DEVPOOL_PASSWORD, DEVPOOL_STATE, DEVPOOL_WORKDIR.
package devpoolclients

import (
	"archive/tar"
	"compress/gzip"
	"crypto/tls"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	xenapi "github.com/terra-farm/go-xen-api-client"
)

// env reads a variable the wrapper sets; running `go test` by hand without them fails with the way out.
func env(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run this test through its wrapper, "+
			"tools/with-env.sh mocha --config .mocharc.json devpool/devpool.go.integ.test.ts", name)
	}
	return v
}

// conn is the plugin's Connection (builder/xenserver/common/client.go): client, session, host, credentials.
type conn struct {
	client   *xenapi.Client
	session  xenapi.SessionRef
	host     string
	username string
	password string
}

// connect is common/client.go NewXenAPIClient: "https://"+host, the client's default transport (which skips
// certificate verification, as the plugin does), login with version "1.0" and originator "packer".
func connect(t *testing.T) *conn {
	t.Helper()
	host := env(t, "DEVPOOL_HOST")
	user := env(t, "DEVPOOL_USERNAME")
	pass := env(t, "DEVPOOL_PASSWORD")
	client, err := xenapi.NewClient("https://"+host, nil)
	must(t, err, "NewClient")
	session, err := client.Session.LoginWithPassword(user, pass, "1.0", "packer")
	must(t, err, "session.login_with_password")
	return &conn{client, session, host, user, pass}
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// expectCode checks that err is an XAPI failure with this code (and, when given, its first parameters).
func expectCode(t *testing.T, err error, code string, params ...string) {
	t.Helper()
	var xe *xenapi.Error
	if !errors.As(err, &xe) {
		t.Fatalf("expected XAPI error %s, got %v", code, err)
	}
	if xe.Code() != code {
		t.Fatalf("expected XAPI error %s, got %s %s %s", code, xe.Code(), xe.Type(), xe.UUID())
	}
	got := []string{xe.Type(), xe.UUID()}
	for i, p := range params {
		if i < len(got) && got[i] != p {
			t.Fatalf("%s: parameter %d is %q, expected %q", code, i+1, got[i], p)
		}
	}
}

func expectEqual[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// state is what the build phase hands to the finish phase.
type state struct {
	Session     string `json:"session"`
	InstanceID  string `json:"instance_uuid"`
	CdVdi       string `json:"cd_vdi_uuid"`
	IsoVdi      string `json:"iso_vdi_uuid"`
	ToolsVdi    string `json:"tools_vdi_uuid"`
	DiskVdi     string `json:"disk_vdi_uuid"`
	ConsoleHost string `json:"console_host"`
}

const (
	vmName        = "packer-go-client"
	cloneTemplate = "Other install media"
	toolsIsoName  = "guest-tools.iso"
	isoName       = "debian-12-netinst.iso"
	diskBytes     = 64 * 1024 * 1024
)

var insecure = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

// getDefaultSR is common/common_config.go getDefaultSR: the pool whose master is this host, then its default SR.
// The plugin reads pool refs only, never the pool record: "some values for the pool `allowed_operations` are not
// recognised, resulting in a parse error when retrieving pool records" (its comment; see TestStrictRecords).
func getDefaultSR(t *testing.T, c *conn) xenapi.SRRef {
	t.Helper()
	host, err := c.client.Session.GetThisHost(c.session, c.session)
	must(t, err, "session.get_this_host")
	pools, err := c.client.Pool.GetAll(c.session)
	must(t, err, "pool.get_all")
	for _, p := range pools {
		master, err := c.client.Pool.GetMaster(c.session, p)
		must(t, err, "pool.get_master")
		if master == host {
			sr, err := c.client.Pool.GetDefaultSR(c.session, p)
			must(t, err, "pool.get_default_SR")
			return sr
		}
	}
	t.Fatalf("no pool has host %s as its master", host)
	return ""
}

// waitTask is common/http_upload.go's InterruptibleWait predicate: task status, progress while pending, error info
// on failure, then the result; the task is destroyed afterwards (its `defer`).
func waitTask(t *testing.T, c *conn, task xenapi.TaskRef) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		status, err := c.client.Task.GetStatus(c.session, task)
		must(t, err, "task.get_status")
		switch status {
		case xenapi.TaskStatusTypePending:
			_, err := c.client.Task.GetProgress(c.session, task)
			must(t, err, "task.get_progress")
		case xenapi.TaskStatusTypeSuccess:
			result, err := c.client.Task.GetResult(c.session, task)
			must(t, err, "task.get_result")
			return result
		case xenapi.TaskStatusTypeFailure:
			info, err := c.client.Task.GetErrorInfo(c.session, task)
			must(t, err, "task.get_error_info")
			t.Fatalf("task failed: %v", info)
		default:
			t.Fatalf("task status %s", status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s still pending after 60 s", task)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// httpUpload is common/http_upload.go HTTPUpload: a task, then PUT <url>&task_id=<task> with the file's length,
// a 200 expected before the body is read back, then the task polled.
func httpUpload(t *testing.T, c *conn, importURL string, body []byte) string {
	t.Helper()
	task, err := c.client.Task.Create(c.session, "packer-task", "Packer task")
	must(t, err, "task.create")
	defer func() { must(t, c.client.Task.Destroy(c.session, task), "task.destroy") }()
	u, err := url.Parse(importURL)
	must(t, err, "parse upload URL")
	q := u.Query()
	q.Add("task_id", string(task))
	u.RawQuery = q.Encode()
	req, err := http.NewRequest("PUT", u.String(), strings.NewReader(string(body)))
	must(t, err, "new PUT request")
	req.ContentLength = int64(len(body))
	resp, err := insecure.Do(req)
	must(t, err, "PUT "+u.Path)
	expectEqual(t, "PUT "+u.Path+" status", resp.StatusCode, 200)
	result := waitTask(t, c, task)
	must(t, resp.Body.Close(), "close upload response")
	return result
}

// uploadVdi is common/step_upload_vdi.go uploadVdi: VDI.create with the plugin's record, then /import_raw_vdi.
func uploadVdi(t *testing.T, c *conn, name string, data []byte) string {
	t.Helper()
	sr := getDefaultSR(t, c) // GetISOSR without sr_iso_name
	vdi, err := c.client.VDI.Create(c.session, xenapi.VDIRecord{
		NameLabel:   name,
		VirtualSize: len(data),
		Type:        "user",
		Sharable:    false,
		ReadOnly:    false,
		SR:          sr,
		OtherConfig: map[string]string{"temp": "temp"},
	})
	must(t, err, "VDI.create "+name)
	uuid, err := c.client.VDI.GetUUID(c.session, vdi)
	must(t, err, "VDI.get_uuid")
	result := httpUpload(t, c, fmt.Sprintf("https://%s/import_raw_vdi?vdi=%s&session_id=%s",
		c.host, vdi, c.session), data)
	// import_raw_vdi.ml completes the task with the VDI ref, XML-RPC encoded.
	expectEqual(t, "import_raw_vdi task result", result, "<value>"+string(vdi)+"</value>")
	rec, err := c.client.VDI.GetRecord(c.session, vdi)
	must(t, err, "VDI.get_record (strict decode)")
	expectEqual(t, "uploaded VDI virtual_size", rec.VirtualSize, len(data))
	expectEqual(t, "uploaded VDI type", rec.Type, xenapi.VdiTypeUser)
	return uuid
}

// connectVdi is common/client.go ConnectVdi: a VBD with the plugin's record for the VDI type.
func connectVdi(t *testing.T, c *conn, vm xenapi.VMRef, vdi xenapi.VDIRef, vbdType xenapi.VbdType) {
	t.Helper()
	mode, bootable, unpluggable := xenapi.VbdModeRW, false, false
	switch vbdType {
	case xenapi.VbdTypeCD:
		mode, bootable = xenapi.VbdModeRO, true
	case xenapi.VbdTypeFloppy:
		unpluggable = true
	}
	vbd, err := c.client.VBD.Create(c.session, xenapi.VBDRecord{
		VM:               vm,
		VDI:              vdi,
		Userdevice:       "autodetect",
		Empty:            false,
		QosAlgorithmType: "",
		Mode:             mode,
		Unpluggable:      unpluggable,
		Bootable:         bootable,
		Type:             vbdType,
	})
	must(t, err, "VBD.create "+string(vbdType))
	_, err = c.client.VBD.GetUUID(c.session, vbd)
	must(t, err, "VBD.get_uuid")
}

// disconnectVdi is common/client.go DisconnectVdi: find the VBD of the VDI, unplug (error ignored), destroy.
func disconnectVdi(t *testing.T, c *conn, vm xenapi.VMRef, vdi xenapi.VDIRef) {
	t.Helper()
	vbds, err := c.client.VM.GetVBDs(c.session, vm)
	must(t, err, "VM.get_VBDs")
	for _, vbd := range vbds {
		rec, err := c.client.VBD.GetRecord(c.session, vbd)
		must(t, err, "VBD.get_record (strict decode)")
		if rec.VDI == vdi {
			// The VM is halted: xapi answers DEVICE_ALREADY_DETACHED, which the plugin ignores.
			expectCode(t, c.client.VBD.Unplug(c.session, vbd), "DEVICE_ALREADY_DETACHED", string(vbd))
			must(t, c.client.VBD.Destroy(c.session, vbd), "VBD.destroy")
			return
		}
	}
	t.Fatalf("no VBD of VM %s holds VDI %s", vm, vdi)
}

func loadState(t *testing.T) state {
	t.Helper()
	raw, err := os.ReadFile(env(t, "DEVPOOL_STATE"))
	must(t, err, "read the build phase's state")
	var s state
	must(t, json.Unmarshal(raw, &s), "parse the build phase's state")
	return s
}

// TestPackerIsoBuild runs the iso builder's steps up to the console packer opens for the boot command.
func TestPackerIsoBuild(t *testing.T) {
	c := connect(t)
	var s state
	s.Session = string(c.session)

	// StepUploadVdi "Packer-CD" (the cd_files image), StepFindOrUploadVdi (the ISO, not on the pool yet).
	s.CdVdi = uploadVdi(t, c, "Packer-CD", []byte(strings.Repeat("packer cidata\n", 4096)))
	found, err := c.client.VDI.GetByNameLabel(c.session, isoName)
	must(t, err, "VDI.get_by_name_label (iso)")
	expectEqual(t, "existing ISO VDIs", len(found), 0)
	s.IsoVdi = uploadVdi(t, c, isoName, make([]byte, 3*1024*1024))

	// StepFindVdi for tools_iso_name: exactly one VDI of that name.
	tools, err := c.client.VDI.GetByNameLabel(c.session, toolsIsoName)
	must(t, err, "VDI.get_by_name_label (tools)")
	expectEqual(t, "tools ISO VDIs", len(tools), 1)
	s.ToolsVdi, err = c.client.VDI.GetUUID(c.session, tools[0])
	must(t, err, "VDI.get_uuid (tools)")

	// StepGetVmTemplate: no template of the build's name yet.
	existing, err := c.client.VM.GetByNameLabel(c.session, vmName)
	must(t, err, "VM.get_by_name_label")
	for _, vm := range existing {
		isTemplate, err := c.client.VM.GetIsATemplate(c.session, vm)
		must(t, err, "VM.get_is_a_template")
		if isTemplate {
			t.Fatalf("a template named %s already exists", vmName)
		}
	}

	instance := stepCreateInstance(t, c, &s)

	// StepAttachVdi for the ISO, the tools ISO and the cd_files CD, in the builder's order.
	for _, uuid := range []string{s.IsoVdi, s.ToolsVdi, s.CdVdi} {
		vdi, err := c.client.VDI.GetByUUID(c.session, uuid)
		must(t, err, "VDI.get_by_uuid")
		vm, err := c.client.VM.GetByUUID(c.session, s.InstanceID)
		must(t, err, "VM.get_by_uuid")
		connectVdi(t, c, vm, vdi, xenapi.VbdTypeCD)
	}

	stepStartVmPaused(t, c, instance)

	// StepSetVmHostSshAddress: the host the VM runs on, and its address.
	host, err := c.client.VM.GetResidentOn(c.session, instance)
	must(t, err, "VM.get_resident_on")
	address, err := c.client.Host.GetAddress(c.session, host)
	must(t, err, "host.get_address")
	expectEqual(t, "host address", strings.SplitN(c.host, ":", 2)[0], address)

	// StepBootWait: unpause.
	must(t, c.client.VM.Unpause(c.session, instance), "VM.unpause")
	power, err := c.client.VM.GetPowerState(c.session, instance)
	must(t, err, "VM.get_power_state")
	expectEqual(t, "power state after unpause", power, xenapi.VMPowerStateRunning)

	// StepTypeBootCommand: the VM by uuid, its one console, the host in the console's location.
	consoles, err := c.client.VM.GetConsoles(c.session, instance)
	must(t, err, "VM.get_consoles")
	expectEqual(t, "consoles", len(consoles), 1)
	location, err := c.client.Console.GetLocation(c.session, consoles[0])
	must(t, err, "console.get_location")
	s.ConsoleHost = strings.TrimSuffix(strings.SplitAfter(location, "/")[2], "/")
	crec, err := c.client.Console.GetRecord(c.session, consoles[0])
	must(t, err, "console.get_record (strict decode)")
	expectEqual(t, "console protocol", crec.Protocol, xenapi.ConsoleProtocolRfb)

	// StepWaitForIP (tools): before the guest agent reports, the VM has no guest metrics.
	m, err := c.client.VM.GetGuestMetrics(c.session, instance)
	must(t, err, "VM.get_guest_metrics")
	expectEqual(t, "guest metrics before the agent", m, "OpaqueRef:NULL")
	// The plugin tests `m != ""` and reads the record anyway; xapi refuses the null ref and the plugin retries.
	_, err = c.client.VMGuestMetrics.GetRecord(c.session, m)
	expectCode(t, err, "HANDLE_INVALID", "VM_guest_metrics", "OpaqueRef:NULL")

	raw, err := json.Marshal(s)
	must(t, err, "encode state")
	must(t, os.WriteFile(env(t, "DEVPOOL_STATE"), raw, 0o600), "write state")
}

// stepCreateInstance is common/step_create_instance.go Run.
func stepCreateInstance(t *testing.T, c *conn, s *state) xenapi.VMRef {
	t.Helper()
	vms, err := c.client.VM.GetByNameLabel(c.session, cloneTemplate)
	must(t, err, "VM.get_by_name_label (clone_template)")
	expectEqual(t, "templates named "+cloneTemplate, len(vms), 1)
	instance, err := c.client.VM.Clone(c.session, vms[0], vmName)
	must(t, err, "VM.clone")
	must(t, c.client.VM.SetIsATemplate(c.session, instance, false), "VM.set_is_a_template")
	must(t, c.client.VM.SetVCPUsMax(c.session, instance, 2), "VM.set_VCPUs_max")
	must(t, c.client.VM.SetVCPUsAtStartup(c.session, instance, 2), "VM.set_VCPUs_at_startup")
	memory := 1024 * 1024 * 1024
	must(t, c.client.VM.SetMemoryLimits(c.session, instance, memory, memory, memory, memory), "VM.set_memory_limits")
	platform, err := c.client.VM.GetPlatform(c.session, instance)
	must(t, err, "VM.get_platform")
	must(t, c.client.VM.SetPlatform(c.session, instance, platform), "VM.set_platform")
	must(t, c.client.VM.SetNameDescription(c.session, instance, "built by packer"), "VM.set_name_description")
	other, err := c.client.VM.GetOtherConfig(c.session, instance)
	must(t, err, "VM.get_other_config")
	other["packer"] = "go-client"
	must(t, c.client.VM.SetOtherConfig(c.session, instance, other), "VM.set_other_config")
	must(t, c.client.VM.RemoveFromOtherConfig(c.session, instance, "disks"), "VM.remove_from_other_config")

	// One disk of `disk_size`, on the default SR.
	sr := getDefaultSR(t, c)
	vdi, err := c.client.VDI.Create(c.session, xenapi.VDIRecord{
		NameLabel:   vmName + "-disk",
		VirtualSize: diskBytes,
		Type:        "user",
		Sharable:    false,
		ReadOnly:    false,
		SR:          sr,
		OtherConfig: map[string]string{"temp": "temp"},
	})
	must(t, err, "VDI.create (disk)")
	s.DiskVdi, err = c.client.VDI.GetUUID(c.session, vdi)
	must(t, err, "VDI.get_uuid (disk)")
	connectVdi(t, c, instance, vdi, xenapi.VbdTypeDisk)

	// No network_names: the management PIF's network, VIF device "0".
	pifs, err := c.client.PIF.GetAll(c.session)
	must(t, err, "PIF.get_all")
	var network xenapi.NetworkRef
	for _, pif := range pifs {
		rec, err := c.client.PIF.GetRecord(c.session, pif)
		must(t, err, "PIF.get_record (strict decode)")
		if rec.Management {
			network = rec.Network
		}
	}
	if network == "" {
		t.Fatal("no management PIF")
	}
	vif, err := c.client.VIF.Create(c.session, xenapi.VIFRecord{
		Network:     network,
		VM:          instance,
		Device:      "0",
		LockingMode: xenapi.VifLockingModeNetworkDefault,
	})
	must(t, err, "VIF.create")
	vifRec, err := c.client.VIF.GetRecord(c.session, vif)
	must(t, err, "VIF.get_record (strict decode)")
	if len(vifRec.MAC) != 17 || !vifRec.MACAutogenerated {
		t.Fatalf("VIF.create without a MAC: got MAC %q, autogenerated %v", vifRec.MAC, vifRec.MACAutogenerated)
	}

	must(t, c.client.VM.AddTags(c.session, instance, "packer"), "VM.add_tags")
	s.InstanceID, err = c.client.VM.GetUUID(c.session, instance)
	must(t, err, "VM.get_uuid")
	return instance
}

// stepStartVmPaused is common/step_start_vm_paused.go Run.
func stepStartVmPaused(t *testing.T, c *conn, instance xenapi.VMRef) {
	t.Helper()
	must(t, c.client.VM.SetHVMBootPolicy(c.session, instance, "BIOS order"), "VM.set_HVM_boot_policy")
	must(t, c.client.VM.SetHVMBootParams(c.session, instance, map[string]string{"order": "cd", "firmware": "bios"}),
		"VM.set_HVM_boot_params")
	must(t, c.client.VM.Start(c.session, instance, true, false), "VM.start (paused)")
	domid, err := c.client.VM.GetDomid(c.session, instance)
	must(t, err, "VM.get_domid")
	if domid <= 0 {
		t.Fatalf("domid of a started VM: %d", domid)
	}
	power, err := c.client.VM.GetPowerState(c.session, instance)
	must(t, err, "VM.get_power_state")
	expectEqual(t, "power state after a paused start", power, xenapi.VMPowerStatePaused)
}

// TestPackerIsoFinish resumes at StepWaitForIP, once the wrapper has played the guest agent.
func TestPackerIsoFinish(t *testing.T) {
	c := connect(t)
	s := loadState(t)
	instance, err := c.client.VM.GetByUUID(c.session, s.InstanceID)
	must(t, err, "VM.get_by_uuid")

	// StepWaitForIP (tools): guest metrics, strictly decoded, network 0/ip.
	m, err := c.client.VM.GetGuestMetrics(c.session, instance)
	must(t, err, "VM.get_guest_metrics")
	metrics, err := c.client.VMGuestMetrics.GetRecord(c.session, m)
	must(t, err, "VM_guest_metrics.get_record (strict decode)")
	expectEqual(t, "guest IP", metrics.Networks["0/ip"], "192.0.2.10")

	// StepShutdown without shutdown_command: clean shutdown.
	must(t, c.client.VM.CleanShutdown(c.session, instance), "VM.clean_shutdown")
	power, err := c.client.VM.GetPowerState(c.session, instance)
	must(t, err, "VM.get_power_state")
	expectEqual(t, "power state after shutdown", power, xenapi.VMPowerStateHalted)

	// StepCleanUpTemplate has nothing to clean; StepSetVmToTemplate.
	must(t, c.client.VM.SetIsATemplate(c.session, instance, true), "VM.set_is_a_template")

	// StepDetachVdi for the ISO, the tools ISO and the cd_files CD.
	for _, uuid := range []string{s.IsoVdi, s.ToolsVdi, s.CdVdi} {
		vdi, err := c.client.VDI.GetByUUID(c.session, uuid)
		must(t, err, "VDI.get_by_uuid")
		disconnectVdi(t, c, instance, vdi)
	}
	vbds, err := c.client.VM.GetVBDs(c.session, instance)
	must(t, err, "VM.get_VBDs")
	expectEqual(t, "VBDs left after the detach steps", len(vbds), 1)

	// The template, through getters: its record holds XCP-ng 8.3 operations (changing_NVRAM) the client's CH 8.1
	// enum does not know, so VM.get_record cannot be decoded by this client on 8.3 (see TestStrictRecords).
	isTemplate, err := c.client.VM.GetIsATemplate(c.session, instance)
	must(t, err, "VM.get_is_a_template")
	expectEqual(t, "is_a_template", isTemplate, true)
	vcpus, err := c.client.VM.GetVCPUsMax(c.session, instance)
	must(t, err, "VM.get_VCPUs_max")
	expectEqual(t, "VCPUs_max", vcpus, 2)
	memory, err := c.client.VM.GetMemoryStaticMax(c.session, instance)
	must(t, err, "VM.get_memory_static_max")
	expectEqual(t, "memory_static_max", memory, 1024*1024*1024)
	_, err = c.client.VM.GetRecord(c.session, instance)
	expectDecodeRefusal(t, err, "VMOperations")

	xva := stepExportXva(t, c, s)
	stepExportRaw(t, c, instance)
	stepImportXva(t, c, xva)
	cleanup(t, c, s, instance)
}

// stepExportXva is common/step_export.go, format xva_compressed: GET /export with the session in the query and no
// task, the body read until the server closes the connection. Then the same with a task of our own (task_id), as
// API clients that watch the export do.
func stepExportXva(t *testing.T, c *conn, s state) string {
	t.Helper()
	file := filepath.Join(env(t, "DEVPOOL_WORKDIR"), vmName+".xva")
	exportURL := fmt.Sprintf("https://%s/export?use_compression=true&uuid=%s&session_id=%s", c.host, s.InstanceID, c.session)
	resp, err := insecure.Get(exportURL)
	must(t, err, "GET /export")
	expectEqual(t, "export status", resp.StatusCode, 200)
	expectEqual(t, "export Content-Length (none: the body ends with the connection)", resp.ContentLength, int64(-1))
	out, err := os.Create(file)
	must(t, err, "create the XVA file")
	_, err = io.Copy(out, resp.Body)
	must(t, err, "read the export")
	must(t, out.Close(), "close the XVA file")
	must(t, resp.Body.Close(), "close the export response")
	checkXva(t, file)

	task, err := c.client.Task.Create(c.session, "export", "export with a task")
	must(t, err, "task.create")
	resp, err = insecure.Get(fmt.Sprintf("https://%s/export?uuid=%s&session_id=%s&task_id=%s", c.host, s.InstanceID, c.session, task))
	must(t, err, "GET /export with task_id")
	expectEqual(t, "export task-id header", resp.Header.Get("task-id"), string(task))
	n, err := io.Copy(io.Discard, resp.Body)
	must(t, err, "read the export")
	must(t, resp.Body.Close(), "close the export response")
	if n < diskBytes/64 {
		t.Fatalf("uncompressed export of %d bytes", n)
	}
	expectEqual(t, "export task result", waitTask(t, c, task), "")
	must(t, c.client.Task.Destroy(c.session, task), "task.destroy")
	return file
}

// checkXva reads the gzip'd tar: ova.xml first, then the disk's chunks with their .xxhash files.
func checkXva(t *testing.T, file string) {
	t.Helper()
	f, err := os.Open(file)
	must(t, err, "open the XVA")
	defer f.Close()
	gz, err := gzip.NewReader(f)
	must(t, err, "gunzip the XVA (use_compression=true)")
	tr := tar.NewReader(gz)
	first, err := tr.Next()
	must(t, err, "first tar entry")
	expectEqual(t, "first XVA entry", first.Name, "ova.xml")
	chunks, hashes := 0, 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err, "tar entry")
		if strings.HasSuffix(h.Name, ".xxhash") {
			hashes++
		} else if strings.HasPrefix(h.Name, "Ref:") {
			chunks++
		}
	}
	if chunks < 2 || chunks != hashes {
		t.Fatalf("XVA holds %d chunks and %d .xxhash files", chunks, hashes)
	}
}

// stepExportRaw is common/step_export.go, format vdi_raw: GetDisks, the host's product version, then
// /export_raw_vdi with the credentials in the URL (Basic auth), as the plugin does.
func stepExportRaw(t *testing.T, c *conn, instance xenapi.VMRef) {
	t.Helper()
	vbds, err := c.client.VM.GetVBDs(c.session, instance)
	must(t, err, "VM.get_VBDs")
	var disks []xenapi.VDIRef
	for _, vbd := range vbds {
		rec, err := c.client.VBD.GetRecord(c.session, vbd)
		must(t, err, "VBD.get_record (strict decode)")
		if rec.Type == xenapi.VbdTypeDisk {
			vdi, err := c.client.VBD.GetVDI(c.session, vbd)
			must(t, err, "VBD.get_VDI")
			disks = append(disks, vdi)
		}
	}
	expectEqual(t, "disks", len(disks), 1)
	uuid, err := c.client.VDI.GetUUID(c.session, disks[0])
	must(t, err, "VDI.get_uuid")
	hosts, err := c.client.Host.GetAll(c.session)
	must(t, err, "host.get_all")
	versions, err := c.client.Host.GetSoftwareVersion(c.session, hosts[0])
	must(t, err, "host.get_software_version")
	expectEqual(t, "product_version", versions["product_version"], "8.3.0")

	u := &url.URL{Scheme: "https", Host: c.host, Path: "/export_raw_vdi", RawQuery: "vdi=" + uuid,
		User: url.UserPassword(c.username, c.password)}
	resp, err := insecure.Get(u.String())
	must(t, err, "GET /export_raw_vdi")
	expectEqual(t, "export_raw_vdi status", resp.StatusCode, 200)
	n, err := io.Copy(io.Discard, resp.Body)
	must(t, err, "read the raw disk")
	must(t, resp.Body.Close(), "close")
	expectEqual(t, "raw disk bytes", n, int64(diskBytes))

	u.User = url.UserPassword(c.username, "not the password")
	resp, err = insecure.Get(u.String())
	must(t, err, "GET /export_raw_vdi with a bad password")
	expectEqual(t, "bad Basic auth status", resp.StatusCode, 401)
	expectEqual(t, "WWW-Authenticate", resp.Header.Get("WWW-Authenticate"), `Basic realm="VDI.export_raw"`)
	must(t, resp.Body.Close(), "close")
}

// stepImportXva is builder/xenserver/xva/step_import_instance.go: /import of the exported XVA with a task.
func stepImportXva(t *testing.T, c *conn, file string) {
	t.Helper()
	body, err := os.ReadFile(file)
	must(t, err, "read the XVA")
	sr := getDefaultSR(t, c)
	result := httpUpload(t, c, fmt.Sprintf("https://%s/import?session_id=%s&sr_id=%s", c.host, c.session, sr), body)
	// import.ml: the task result is the new VMs as an XML-RPC array (API.rpc_of_ref_VM_set).
	var v struct {
		Refs []string `xml:"array>data>value"`
	}
	must(t, xml.Unmarshal([]byte(result), &v), "parse the import result "+result)
	expectEqual(t, "imported VMs", len(v.Refs), 1)
	// The plugin casts the result itself to a VM ref (`xsclient.VMRef(result)`); xapi refuses that as a handle.
	_, err = c.client.VM.GetUUID(c.session, xenapi.VMRef(result))
	expectCode(t, err, "HANDLE_INVALID", "VM", result)
	imported := xenapi.VMRef(v.Refs[0])
	must(t, c.client.VM.SetVCPUsMax(c.session, imported, 2), "VM.set_VCPUs_max")
	must(t, c.client.VM.SetVCPUsAtStartup(c.session, imported, 1), "VM.set_VCPUs_at_startup")
	must(t, c.client.VM.SetNameDescription(c.session, imported, "imported by packer"), "VM.set_name_description")
	must(t, c.client.VM.AddTags(c.session, imported, "packer"), "VM.add_tags")
	name, err := c.client.VM.GetNameLabel(c.session, imported)
	must(t, err, "VM.get_name_label")
	expectEqual(t, "imported name", name, vmName)
	isTemplate, err := c.client.VM.GetIsATemplate(c.session, imported)
	must(t, err, "VM.get_is_a_template")
	expectEqual(t, "imported is a template", isTemplate, true)
	vbds, err := c.client.VM.GetVBDs(c.session, imported)
	must(t, err, "VM.get_VBDs")
	for _, vbd := range vbds {
		vdi, err := c.client.VBD.GetVDI(c.session, vbd)
		must(t, err, "VBD.get_VDI")
		must(t, c.client.VBD.Destroy(c.session, vbd), "VBD.destroy")
		must(t, c.client.VDI.Destroy(c.session, vdi), "VDI.destroy (imported disk)")
	}
	must(t, c.client.VM.Destroy(c.session, imported), "VM.destroy (imported)")
}

// cleanup is the steps' Cleanup methods with keep_vm "never": StepCreateInstance.Cleanup (hard shutdown, error
// ignored, then VM and disk VDI destroyed) and StepUploadVdi.Cleanup (the uploaded VDIs, up to three tries).
func cleanup(t *testing.T, c *conn, s state, instance xenapi.VMRef) {
	t.Helper()
	expectCode(t, c.client.VM.HardShutdown(c.session, instance), "VM_IS_TEMPLATE", string(instance), "hard_shutdown")
	must(t, c.client.VM.Destroy(c.session, instance), "VM.destroy")
	for _, uuid := range []string{s.DiskVdi, s.IsoVdi, s.CdVdi} {
		vdi, err := c.client.VDI.GetByUUID(c.session, uuid)
		must(t, err, "VDI.get_by_uuid")
		must(t, c.client.VDI.Destroy(c.session, vdi), "VDI.destroy")
	}
	left, err := c.client.VDI.GetByNameLabel(c.session, "Packer-CD")
	must(t, err, "VDI.get_by_name_label")
	expectEqual(t, "Packer-CD VDIs after cleanup", len(left), 0)
	must(t, c.client.Session.Logout(c.session), "session.logout")
}

// TestPackerErrorPaths: what the plugin meets when things go wrong, with xapi's codes and parameters.
func TestPackerErrorPaths(t *testing.T) {
	host := env(t, "DEVPOOL_HOST")
	user := env(t, "DEVPOOL_USERNAME")
	client, err := xenapi.NewClient("https://"+host, nil)
	must(t, err, "NewClient")
	_, err = client.Session.LoginWithPassword(user, "not the password", "1.0", "packer")
	expectCode(t, err, "SESSION_AUTHENTICATION_FAILED", user, "Authentication failure")

	c := connect(t)
	defer func() { must(t, c.client.Session.Logout(c.session), "session.logout") }()
	tpls, err := c.client.VM.GetByNameLabel(c.session, cloneTemplate)
	must(t, err, "VM.get_by_name_label")
	expectCode(t, c.client.VM.Start(c.session, tpls[0], true, false), "VM_IS_TEMPLATE", string(tpls[0]), "start")
	_, err = c.client.VM.GetByUUID(c.session, "00000000-0000-0000-0000-000000000000")
	expectCode(t, err, "UUID_INVALID", "VM", "00000000-0000-0000-0000-000000000000")
	_, err = c.client.VDI.GetRecord(c.session, "OpaqueRef:00000000-0000-0000-0000-000000000000")
	expectCode(t, err, "HANDLE_INVALID", "VDI")
	must(t, c.client.Session.Logout(c.session), "session.logout")
	_, err = c.client.VM.GetAll(c.session)
	expectCode(t, err, "SESSION_INVALID", string(c.session))
	c.session, err = c.client.Session.LoginWithPassword(user, env(t, "DEVPOOL_PASSWORD"), "1.0", "packer")
	must(t, err, "login again")
}

// TestStrictRecords reads every record the plugin could meet with the client's strict decoders. Pool, host and VM
// records hold enum values newer than the client's CH 8.1 tables (xapi 25.6 computes `allowed_operations` such as
// `cert_refresh`, `enable` and `changing_NVRAM`): the client refuses them on XCP-ng 8.3, which is why the plugin
// reads pool refs only and VM fields through getters; devpool must answer the same values, so the same refusals
// are expected here.
func TestStrictRecords(t *testing.T) {
	c := connect(t)
	defer func() { must(t, c.client.Session.Logout(c.session), "session.logout") }()
	_, err := c.client.VDI.GetAllRecords(c.session)
	must(t, err, "VDI.get_all_records (strict decode)")
	_, err = c.client.SR.GetAllRecords(c.session)
	must(t, err, "SR.get_all_records (strict decode)")
	_, err = c.client.Network.GetAllRecords(c.session)
	must(t, err, "network.get_all_records (strict decode)")
	_, err = c.client.PIF.GetAllRecords(c.session)
	must(t, err, "PIF.get_all_records (strict decode)")
	_, err = c.client.VBD.GetAllRecords(c.session)
	must(t, err, "VBD.get_all_records (strict decode)")

	pools, err := c.client.Pool.GetAll(c.session)
	must(t, err, "pool.get_all")
	_, err = c.client.Pool.GetRecord(c.session, pools[0])
	expectDecodeRefusal(t, err, "PoolAllowedOperations")
	hosts, err := c.client.Host.GetAll(c.session)
	must(t, err, "host.get_all")
	_, err = c.client.Host.GetRecord(c.session, hosts[0])
	expectDecodeRefusal(t, err, "HostAllowedOperations")
	_, err = c.client.VM.GetAllRecords(c.session)
	expectDecodeRefusal(t, err, "VMOperations")
	_, err = c.client.VM.GetAllowedOperations(c.session, mustTemplate(t, c))
	expectDecodeRefusal(t, err, "VMOperations")
	// The rest of a VM is readable field by field, as the plugin reads it.
	power, err := c.client.VM.GetPowerState(c.session, mustTemplate(t, c))
	must(t, err, "VM.get_power_state")
	expectEqual(t, "template power state", power, xenapi.VMPowerStateHalted)
}

func mustTemplate(t *testing.T, c *conn) xenapi.VMRef {
	t.Helper()
	tpls, err := c.client.VM.GetByNameLabel(c.session, cloneTemplate)
	must(t, err, "VM.get_by_name_label")
	return tpls[0]
}

// expectDecodeRefusal: the client's "got value %q for enum %s ... not any of the known values".
func expectDecodeRefusal(t *testing.T, err error, enum string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), "for enum "+enum) {
		t.Fatalf("expected the client to refuse an unknown %s value, got %v", enum, err)
	}
}
