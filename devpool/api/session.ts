/**
 * session.*: login checks the configured credentials (xapi_session.ml: a failure is
 * SESSION_AUTHENTICATION_FAILED [uname, "Authentication failure"]); version and originator are optional, so 2, 3
 * or 4 parameters are all valid (`xen-api` sends 2, packer sends 4).
 */
import { timingSafeEqual } from "node:crypto";
import { ServerError } from "../errors";
import type { Role } from "../model/rbac";
import type { CallContext } from "./context";
import type { Registry } from "./registry";

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Who logged in: the local superuser (no role: every check passes), or an account with its XAPI role. */
export interface Principal {
  readonly username: string;
  readonly role: Role | undefined;
}

/**
 * Checks credentials against the superuser's, then the other accounts'; throws SESSION_AUTHENTICATION_FAILED
 * [uname, "Authentication failure"] (xapi_session.ml) when none matches.
 */
export function authenticate(ctx: Pick<CallContext, "engine">, uname: string, pwd: string): Principal {
  const { username, password } = ctx.engine.credentials;
  if (same(uname, username) && same(pwd, password)) return { username: uname, role: undefined };
  for (const u of ctx.engine.users) {
    if (same(uname, u.username) && same(pwd, u.password)) return { username: uname, role: u.role };
  }
  throw new ServerError("SESSION_AUTHENTICATION_FAILED", [uname, "Authentication failure"]);
}

export function registerSession(reg: Registry): void {
  const login = (ctx: CallContext, args: readonly unknown[]) => {
    const [uname, pwd, , originator] = args as [string, string, string?, string?];
    const who = authenticate(ctx, uname, pwd);
    return ctx.engine.openSession(uname, originator ?? "", who.role);
  };
  reg.implement("session.login_with_password", login, { optional: 2 });
  reg.implement("session.slave_local_login_with_password", login);
  reg.implement("session.logout", (ctx) => ctx.engine.closeSession(ctx.session));
  reg.implement("session.local_logout", (ctx) => ctx.engine.closeSession(ctx.session));
}
