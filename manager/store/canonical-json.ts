/**
 * Deterministic JSON: object keys in sorted order, no whitespace, `undefined` members left out. Two
 * replicas that hold equal data produce byte-identical encodings (snapshots, batches).
 */
export function canonicalJson(value: unknown): string {
  const out = JSON.stringify(value, sortKeys);
  if (out === undefined) throw new TypeError(`canonicalJson: cannot encode a ${typeof value}`);
  return out;
}

// JSON.stringify calls this for every value: records are re-created with their keys in sorted order
// (integer-like keys still come first, as JavaScript orders them, which is the same on every replica).
function sortKeys(_key: string, v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) throw new TypeError(`canonicalJson: non-finite number ${v}`);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  const keys = Object.keys(v);
  let sorted = true;
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) {
      sorted = false;
      break;
    }
  }
  if (sorted) return v;
  const out: Record<string, unknown> = {};
  for (const k of keys.sort()) out[k] = (v as Record<string, unknown>)[k];
  return out;
}

export function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as Record<string, unknown>)) deepFreeze(x);
  }
  return v;
}
