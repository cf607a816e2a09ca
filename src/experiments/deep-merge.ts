// Resolution rule for documents: objects merge key by key, arrays and scalars replace, null replaces
// (it switches a nullable section off), undefined leaves the base as it is.

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

export function deepClone<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => deepClone(v)) as T;
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = deepClone(v);
    return out as T;
  }
  return value;
}

export function deepMerge<T>(base: T, override: unknown): T {
  if (override === undefined) return deepClone(base);
  if (!isPlainObject(override) || !isPlainObject(base)) return deepClone(override) as T;
  const out: Record<string, unknown> = deepClone(base);
  for (const [k, v] of Object.entries(override)) {
    if (v === undefined) continue;
    out[k] = k in out ? deepMerge(out[k], v) : deepClone(v);
  }
  return out as T;
}
