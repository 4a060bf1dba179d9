/**
 * Docker's `filters` query parameter. The CLI sends `{"key":{"value":true}}`, dockerode `{"key":["value"]}`;
 * both are accepted. Unknown keys are refused with 400 "invalid filter", as real engines do.
 */
import { badRequest } from './errors.js';

export type Filters = Map<string, string[]>;

export function parseFilters(raw: unknown, allowed: readonly string[]): Filters {
  const out: Filters = new Map();
  if (raw === undefined || raw === null || raw === '') return out;
  if (typeof raw !== 'string') throw badRequest('invalid filters: expected one JSON string');
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw badRequest(`invalid filters: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badRequest('invalid filters: expected a JSON object');
  for (const [key, val] of Object.entries(v as Record<string, unknown>)) {
    let values: string[];
    if (Array.isArray(val)) {
      if (!val.every((x) => typeof x === 'string')) throw badRequest(`invalid filters: values of '${key}' must be strings`);
      values = val as string[];
    } else if (typeof val === 'object' && val !== null) {
      values = Object.entries(val as Record<string, unknown>)
        .filter(([, on]) => on === true)
        .map(([k]) => k);
    } else if (typeof val === 'string') {
      values = [val];
    } else {
      throw badRequest(`invalid filters: bad value for '${key}'`);
    }
    if (!allowed.includes(key)) throw badRequest(`invalid filter '${key}'`);
    out.set(key, [...(out.get(key) ?? []), ...values]);
  }
  return out;
}

/** `label` filters: every `key` or `key=value` must hold. */
export function labelsMatch(labels: Record<string, string> | null | undefined, wanted: readonly string[] | undefined): boolean {
  if (!wanted || wanted.length === 0) return true;
  const l = labels ?? {};
  return wanted.every((w) => {
    const i = w.indexOf('=');
    return i < 0 ? w in l : l[w.slice(0, i)] === w.slice(i + 1);
  });
}

/** True when the filter is absent or one of its values passes `test`. */
export function anyMatch(f: Filters, key: string, test: (value: string) => boolean): boolean {
  const vs = f.get(key);
  return !vs || vs.length === 0 || vs.some(test);
}
