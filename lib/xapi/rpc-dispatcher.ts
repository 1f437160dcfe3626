/**
 * The HTTP dispatcher of the `xen-api` client's RPC calls, with our verified connections.
 *
 * xen-api 4.7.6 builds its own undici `Agent` in its constructor (`index.mjs`: `this._undiciDispatcher = new
 * Agent({ connect: { minVersion, rejectUnauthorized } })`) and takes no option for a dispatcher, a CA or a
 * connector: the only trust settings it has are the system store and `allowUnauthorized`. Its transports are made
 * by `_setUrl(url)` from `this._undiciDispatcher` (`transports/json-rpc.mjs`, `xml-rpc.mjs`: `request(url,
 * { dispatcher, ... })`), and `_setUrl` runs again when it follows HOST_IS_SLAVE. So we replace that field by an
 * Agent whose every connection comes from {@link connectToPool}, and call `_setUrl` to rebuild the transport.
 * Those two members are private to xen-api: the version is pinned exactly in package.json, the swap is checked
 * here (an incompatible xen-api fails closed with XAPI_CLIENT_INCOMPATIBLE), and lib/xapi's trust tests fail
 * if a call ever goes out on a connection of another dispatcher.
 */
import { Agent, type Dispatcher } from "undici";
import type { Xapi } from "xen-api";
import { XenApiIncompatibleError } from "./errors";
import { connectToPool, type PoolTrust } from "./trust";
import type { XapiTimeouts } from "./timeouts";

interface XenApiInternals {
  _undiciDispatcher?: unknown;
  _url?: unknown;
  _setUrl?: unknown;
}

/** An undici Agent whose connections are opened and verified by {@link connectToPool}. */
export function createPoolAgent(trust: PoolTrust, timeouts: XapiTimeouts): Agent {
  return new Agent({
    connect: (options, callback) => {
      connectToPool(options, trust, timeouts.connectTimeoutMs).then(
        (sock) => callback(null, sock),
        (e: Error) => callback(e, null),
      );
    },
    // Backstops of the per-call deadline (client.ts), which is the documented bound.
    headersTimeout: timeouts.callTimeoutMs,
    bodyTimeout: timeouts.callTimeoutMs,
  });
}

/** Makes `xapi` send every RPC through `dispatcher`; throws XenApiIncompatibleError if xen-api is not 4.7.x-shaped. */
export function useDispatcher(xapi: Xapi, dispatcher: Dispatcher): void {
  const internals = xapi as unknown as XenApiInternals;
  const original = internals._undiciDispatcher;
  if (
    typeof original !== "object" ||
    original === null ||
    typeof (original as Partial<Dispatcher>).dispatch !== "function" ||
    typeof internals._setUrl !== "function" ||
    typeof internals._url !== "object"
  ) {
    throw new XenApiIncompatibleError(
      "lib/xapi: the installed xen-api has no _undiciDispatcher/_setUrl (written for xen-api 4.7.6): its RPC " +
        "connections cannot be verified, so none is made. Install the version pinned in package.json ('npm ci').",
    );
  }
  internals._undiciDispatcher = dispatcher;
  (internals._setUrl as (url: unknown) => void).call(xapi, internals._url);
  // Never used: it was created by the constructor and has no connection yet.
  void (original as Dispatcher).destroy().catch(() => undefined);
}
