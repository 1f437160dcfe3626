/**
 * session.*: login checks the configured credentials (xapi_session.ml: a failure is
 * SESSION_AUTHENTICATION_FAILED [uname, "Authentication failure"]); version and originator are optional, so 2, 3
 * or 4 parameters are all valid (`xen-api` sends 2, packer sends 4).
 */
import { timingSafeEqual } from "node:crypto";
import { ServerError } from "../errors";
import type { CallContext } from "./context";
import type { Registry } from "./registry";

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Checks credentials against devpool's; throws SESSION_AUTHENTICATION_FAILED. */
export function authenticate(ctx: Pick<CallContext, "engine">, uname: string, pwd: string): void {
  const { username, password } = ctx.engine.credentials;
  if (!(same(uname, username) && same(pwd, password))) {
    throw new ServerError("SESSION_AUTHENTICATION_FAILED", [uname, "Authentication failure"]);
  }
}

export function registerSession(reg: Registry): void {
  const login = (ctx: CallContext, args: readonly unknown[]) => {
    const [uname, pwd, , originator] = args as [string, string, string?, string?];
    authenticate(ctx, uname, pwd);
    return ctx.engine.openSession(uname, originator ?? "");
  };
  reg.implement("session.login_with_password", login, { optional: 2 });
  reg.implement("session.slave_local_login_with_password", login);
  reg.implement("session.logout", (ctx) => ctx.engine.closeSession(ctx.session));
  reg.implement("session.local_logout", (ctx) => ctx.engine.closeSession(ctx.session));
}
