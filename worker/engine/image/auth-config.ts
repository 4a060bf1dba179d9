/**
 * Registry credentials as the docker CLI sends them: `X-Registry-Auth` is base64url(JSON) of
 * {username, password, serveraddress} or {identitytoken}; `e30=` ({}) means none. A malformed header
 * is treated as "no credentials", never refused (dockerode sends odd things there). Credentials are
 * values to pass on, never to log: `redact` gives what may be printed.
 */
export interface RegistryAuth {
  username?: string;
  password?: string;
  identityToken?: string;
  serverAddress?: string;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Reads the fields docker uses (case-insensitive keys, as Go's JSON decoder does). */
export function authFromObject(v: unknown): RegistryAuth | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) o[k.toLowerCase()] = val;
  const a: RegistryAuth = {};
  const u = str(o['username']);
  const p = str(o['password']);
  const t = str(o['identitytoken']);
  const s = str(o['serveraddress']);
  if (u !== undefined) a.username = u;
  if (p !== undefined) a.password = p;
  if (t !== undefined) a.identityToken = t;
  if (s !== undefined) a.serverAddress = s;
  return a.username !== undefined || a.identityToken !== undefined ? a : undefined;
}

/** Decodes an `X-Registry-Auth` header value (base64url or standard base64 of JSON). */
export function decodeRegistryAuth(header: string | string[] | undefined): RegistryAuth | undefined {
  const h = Array.isArray(header) ? header[0] : header;
  if (h === undefined || h.trim() === '') return undefined;
  try {
    const text = Buffer.from(h.trim().replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
    return authFromObject(JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

/** The header value a client sends for these credentials. */
export function encodeRegistryAuth(a: RegistryAuth): string {
  const o: Record<string, string> = {};
  if (a.username !== undefined) o['username'] = a.username;
  if (a.password !== undefined) o['password'] = a.password;
  if (a.identityToken !== undefined) o['identitytoken'] = a.identityToken;
  if (a.serverAddress !== undefined) o['serveraddress'] = a.serverAddress;
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

/** What may appear in a log line about these credentials. */
export function redact(a: RegistryAuth | undefined): string {
  if (a === undefined) return 'anonymous';
  return a.identityToken !== undefined ? 'identity token' : `user ${a.username ?? '?'}`;
}

/** `Authorization: Basic …` for username/password credentials. */
export function basicHeader(a: RegistryAuth): string | undefined {
  if (a.username === undefined) return undefined;
  return `Basic ${Buffer.from(`${a.username}:${a.password ?? ''}`).toString('base64')}`;
}
