/**
 * xapi's role-based access control, as devpool applies it (ocaml/xapi/rbac.ml, ocaml/idl/datamodel_roles.ml).
 *
 * Roles form a chain, most privileged first; a message (or HTTP handler) names the least privileged role allowed
 * to call it and every role before it may too (`roles_gte`). A session of the local superuser (the pool's root
 * account) passes every check (rbac.ml `find_first_disallowed_permission`); any other session passes when its role
 * is among the message's. A refusal is RBAC_PERMISSION_DENIED [permission, message], the permission being the
 * lowercased call name (`permission_of_action`), the message naming the roles that hold it
 * (`disallowed_permission_exn`).
 */
import { ServerError } from "../errors";

/** datamodel_roles.ml `ordered`, without the internal `client-cert` role. */
export const ROLES = [
  "pool-admin",
  "pool-operator",
  "vm-power-admin",
  "vm-admin",
  "vm-operator",
  "read-only",
] as const;

export type Role = (typeof ROLES)[number];

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

/** Every role at least as privileged as `least` (`roles_gte`); none for "". */
export function rolesFrom(least: string): readonly Role[] {
  const i = (ROLES as readonly string[]).indexOf(least);
  return i < 0 ? [] : ROLES.slice(0, i + 1);
}

/**
 * Roles of the HTTP handlers devpool serves (ocaml/idl/datamodel.ml `http_actions`): all four transfers need
 * vm-admin. The permission checked is `http/<action>` (`rbac_http_permission_prefix`).
 */
export const HTTP_ACTION_ROLES: Readonly<Record<string, readonly Role[]>> = {
  get_export: rolesFrom("vm-admin"),
  put_import: rolesFrom("vm-admin"),
  get_export_raw_vdi: rolesFrom("vm-admin"),
  put_import_raw_vdi: rolesFrom("vm-admin"),
};

/** rbac.ml `disallowed_permission_exn`. */
export function permissionDenied(permission: string, allowed: readonly string[]): ServerError {
  return new ServerError("RBAC_PERMISSION_DENIED", [
    permission,
    `No permission in user session. (Roles with this permission: ${allowed.join(", ")})`,
  ]);
}

/**
 * Roles of a message the CH 8.1 datamodel dump does not list (XCP-ng 8.3 additions, semi-public accessors): reads
 * are open to every role; task setters are read-only's too (datamodel.ml declares them `_R_READ_ONLY`); other
 * setters take vm-admin on VMs (datamodel_vm.ml) and pool-admin elsewhere, xapi's default writer role.
 */
export function defaultRoles(cls: string, message: string): readonly Role[] {
  if (/^get_/.test(message) || cls === "task") return rolesFrom("read-only");
  return rolesFrom(cls === "VM" ? "vm-admin" : "pool-admin");
}
