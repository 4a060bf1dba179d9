/** Query-string helpers: Docker's CLI sends `1`/`0`, dockerode `true`/`false`; both count. */
import { badRequest } from './errors.js';

export type Query = Record<string, unknown>;

function one(q: Query, key: string): string | undefined {
  const v = q[key];
  if (Array.isArray(v)) return v.length > 0 ? String(v[v.length - 1]) : undefined;
  if (v === undefined || v === null) return undefined;
  return String(v);
}

export function qBool(q: Query, key: string, dflt = false): boolean {
  const v = one(q, key);
  if (v === undefined || v === '') return dflt;
  const s = v.toLowerCase();
  if (s === '1' || s === 'true' || s === 'yes') return true;
  if (s === '0' || s === 'false' || s === 'no') return false;
  throw badRequest(`invalid boolean for query parameter ${key}: ${v}`);
}

export function qString(q: Query, key: string): string | undefined {
  return one(q, key);
}

export function qInt(q: Query, key: string): number | undefined {
  const v = one(q, key);
  if (v === undefined || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw badRequest(`invalid integer for query parameter ${key}: ${v}`);
  return Number(v);
}

/** Every value of a repeated parameter (`names=a&names=b`). */
export function qList(q: Query, key: string): string[] {
  const v = q[key];
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/** A JSON body must be an object (or absent, when `optional`). */
export function bodyObject(body: unknown, optional = false): Record<string, unknown> {
  if (body === undefined || body === null || body === '') {
    if (optional) return {};
    throw badRequest('request body is required');
  }
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('request body must be a JSON object');
  return body as Record<string, unknown>;
}
