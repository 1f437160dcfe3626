/**
 * Setting a key that came from input on a plain object. `out[key] = value` with the key `__proto__` does not make a
 * property: it changes the object's prototype (an object value) or does nothing (any other value), so a struct
 * member or map key named `__proto__` was lost, and the object's prototype was the sender's to choose.
 * `Object.fromEntries` and `JSON.parse` already make it an own property; this does the same for code that builds an
 * object key by key.
 */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
