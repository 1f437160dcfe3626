/**
 * `allowed_operations` of the pool and the host, as XCP-ng 8.3's xapi (v25.6) computes them at startup and after
 * each operation. devpool runs no pool or host operation, so `current_operations` stays empty and only the
 * state-dependent rules apply. Strict clients decode these lists against their own enum tables: a client built
 * for an older datamodel (the Packer plugin's go-xen-api-client v0.0.2, CH 8.1) cannot decode a pool or host
 * record of an 8.3 pool, here as there.
 */
import type { Rec } from "./store";

/**
 * ocaml/xapi/xapi_pool_helpers.ml (v25.6.0) `all_operations` (wait ops, then blocking ops) filtered by
 * `valid_operations` with no operation in progress: `ha_disable` needs HA enabled, `ha_enable` and
 * `tls_verification_enable` need it disabled; `cluster_create` needs no cluster (devpool has none).
 */
export function poolAllowedOperations(pool: Rec): string[] {
  const wait = [
    "cert_refresh",
    "exchange_certificates_on_join",
    "exchange_ca_certificates_on_join",
    "copy_primary_host_certs",
    "eject",
    "get_updates",
  ];
  const blocking = [
    "ha_enable",
    "ha_disable",
    "cluster_create",
    "designate_new_master",
    "tls_verification_enable",
    "configure_repositories",
    "sync_updates",
    "sync_bundle",
    "apply_updates",
  ];
  const ha = pool.ha_enabled === true;
  const refused = new Set(ha ? ["ha_enable", "tls_verification_enable", "cluster_create"] : ["ha_disable"]);
  return [...wait, ...blocking].filter((op) => !refused.has(op));
}

/**
 * ocaml/xapi/xapi_host_helpers.ml (v25.6.0) `valid_operations` over `API.host_allowed_operations__all`: an enabled
 * host refuses `reboot`, `shutdown` and `apply_updates` (HOST_NOT_DISABLED); a live host refuses `power_on`
 * (HOST_IS_LIVE), as does an empty `power_on_mode`.
 */
export function hostAllowedOperations(host: Rec, live: boolean): string[] {
  const all = [
    "provision",
    "evacuate",
    "shutdown",
    "reboot",
    "power_on",
    "vm_start",
    "vm_resume",
    "vm_migrate",
    "apply_updates",
    "enable",
  ];
  const refused = new Set<string>();
  if (host.enabled === true) for (const op of ["reboot", "shutdown", "apply_updates"]) refused.add(op);
  if (live || host.power_on_mode === "") refused.add("power_on");
  return all.filter((op) => !refused.has(op));
}
