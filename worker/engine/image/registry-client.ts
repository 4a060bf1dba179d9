/**
 * An OCI distribution (registry v2) client: manifests by tag or digest, blobs streamed out, and the
 * push primitives (blob HEAD, cross-repo mount, upload session POST → PATCH → PUT ?digest=, manifest
 * PUT). Auth follows the registry's `WWW-Authenticate` challenge: Basic with the caller's credentials,
 * or Bearer from the token realm (anonymous, Basic credentials, or an identity token as refresh token).
 * Plain HTTP only for localhost and 127.0.0.0/8 (Docker's default insecure registries). Every request
 * has a deadline. Credentials never appear in an error message.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { basicHeader, type RegistryAuth } from './auth-config.js';
import { sha256Of, type Digest } from './digest.js';
import { ImageError, imageNotFound, messageOf } from './errors.js';
import { MEDIA } from './oci-types.js';
import { parseRef } from './reference.js';

/** A failure worth another try: no answer, a connection broken off, or a 5xx. */
export class TransientRegistryError extends ImageError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(500, message, options);
    this.name = 'TransientRegistryError';
  }
}

export interface RegistryTarget {
  /** e.g. "https://registry-1.docker.io" or "http://127.0.0.1:5000" */
  base: string;
  /** repository path on that registry, e.g. "library/busybox" */
  repository: string;
  /** tag or digest to ask for */
  reference: string;
}

export interface RegistryClientOptions {
  timeoutMs?: number;
  blobTimeoutMs?: number;
  auth?: RegistryAuth;
  /** `--insecure-registry` values (plain HTTP besides loopback) */
  insecureRegistries?: readonly string[];
}

const ACCEPT = [MEDIA.manifest, MEDIA.index, MEDIA.dockerManifest, 'application/vnd.docker.distribution.manifest.list.v2+json'].join(', ');

function ipv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (m === null) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((x) => x > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/**
 * Checks one `--insecure-registry` value: "host[:port]" or an IPv4 CIDR ("10.0.0.0/8"). Answers the
 * problem, or undefined when it is good.
 */
export function insecureRegistryProblem(entry: string): string | undefined {
  const cidr = /^([^/]+)\/(\d{1,2})$/.exec(entry);
  if (cidr !== null) return ipv4(cidr[1]!) !== undefined && Number(cidr[2]) <= 32 ? undefined : `"${entry}" is not an IPv4 CIDR`;
  if (/^https?:\/\//.test(entry)) return `"${entry}": give host[:port] without a scheme`;
  return /^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(entry) || /^\[[0-9a-fA-F:]+\](:\d{1,5})?$/.test(entry) ? undefined : `"${entry}" is not host[:port] or a CIDR`;
}

/**
 * Docker's rule: a registry is spoken to in plain HTTP when it is loopback (localhost, 127.0.0.0/8,
 * ::1 — Docker's default insecure registries) or listed in `insecure` (`--insecure-registry`: an exact
 * "host:port", a "host" for any port, or an IPv4 CIDR holding the host's address).
 */
export function isInsecureHost(hostPort: string, insecure: readonly string[] = []): boolean {
  const host = hostPort.replace(/:\d+$/, '');
  if (host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)) return true;
  const addr = ipv4(host);
  for (const e of insecure) {
    if (e === hostPort || e === host) return true;
    const cidr = /^([^/]+)\/(\d{1,2})$/.exec(e);
    if (cidr !== null && addr !== undefined) {
      const net = ipv4(cidr[1]!);
      const bits = Number(cidr[2]);
      const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
      if (net !== undefined && ((addr & mask) >>> 0) === ((net & mask) >>> 0)) return true;
    }
  }
  return false;
}

export function registryTarget(ref: string, insecure: readonly string[] = []): RegistryTarget {
  const p = parseRef(ref);
  const parts = p.name.split('/');
  const first = parts[0]!;
  const hasDomain = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const domain = hasDomain ? first : 'registry-1.docker.io';
  const path = hasDomain ? parts.slice(1).join('/') : parts.length === 1 ? `library/${p.name}` : p.name;
  return { base: `${isInsecureHost(domain, insecure) ? 'http' : 'https'}://${domain}`, repository: path, reference: p.digest ?? p.tag ?? 'latest' };
}

/** A registry's error body `{"errors":[{"code","message"}]}` as Docker prints it: "unauthorized: authentication required". */
export async function registryMessage(res: Response): Promise<string> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    // no body
  }
  try {
    const v = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] };
    const parts = (v.errors ?? []).map((e) => [typeof e.code === 'string' ? e.code.toLowerCase() : '', typeof e.message === 'string' ? e.message : ''].filter((s) => s !== '').join(': '));
    if (parts.length > 0) return parts.join('; ');
  } catch {
    // not JSON
  }
  return text.trim() !== '' ? text.trim().slice(0, 300) : `${res.status} ${res.statusText}`;
}

function challengeParams(s: string): Record<string, string> {
  return Object.fromEntries([...s.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
}

interface Req {
  method?: string;
  accept?: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  timeoutMs: number;
  /** extra scope for the token (a cross-repo mount also needs pull on the source) */
  scope?: string;
}

export class RegistryClient {
  private authorization: string | undefined;
  constructor(
    readonly target: RegistryTarget,
    private readonly opts: RegistryClientOptions = {},
  ) {}

  private url(path: string): string {
    return /^https?:\/\//.test(path) ? path : path.startsWith('/') ? `${this.target.base}${path}` : `${this.target.base}/v2/${this.target.repository}/${path}`;
  }

  /** One request, answering a 401 challenge once; a body stream can only be sent once, so stream bodies get auth first (see `ensureAuth`). */
  async request(path: string, r: Req): Promise<Response> {
    const url = this.url(path);
    for (let attempt = 0; attempt < 2; attempt++) {
      const headers: Record<string, string> = { ...(r.headers ?? {}) };
      if (r.accept !== undefined) headers['Accept'] = r.accept;
      if (this.authorization !== undefined) headers['Authorization'] = this.authorization;
      let res: Response;
      try {
        const init: RequestInit & { duplex?: 'half' } = { method: r.method ?? 'GET', headers, signal: AbortSignal.timeout(r.timeoutMs), redirect: 'follow' };
        if (r.body !== undefined) {
          init.body = Buffer.isBuffer(r.body) ? r.body : (Readable.toWeb(r.body) as unknown as ReadableStream<Uint8Array>);
          if (!Buffer.isBuffer(r.body)) init.duplex = 'half';
        }
        res = await fetch(url, init);
      } catch (e) {
        throw new TransientRegistryError(`registry ${this.target.base} did not answer ${r.method ?? 'GET'} ${new URL(url).pathname}: ${messageOf((e as { cause?: unknown }).cause ?? e)}`, { cause: e });
      }
      const streamBody = r.body !== undefined && !Buffer.isBuffer(r.body);
      if (res.status === 401 && attempt === 0 && !streamBody) {
        const challenge = res.headers.get('www-authenticate') ?? '';
        const msg = await registryMessage(res);
        await this.answerChallenge(challenge, msg, r.scope);
        continue;
      }
      return res;
    }
    throw new ImageError(500, `registry ${this.target.base} refused the credentials it issued`);
  }

  /** Sets the Authorization header for a challenge; throws the registry's own message when there is nothing to answer with. */
  private async answerChallenge(challenge: string, registryMsg: string, extraScope?: string): Promise<void> {
    const auth = this.opts.auth;
    if (/^Basic\b/i.test(challenge)) {
      const h = auth !== undefined ? basicHeader(auth) : undefined;
      if (h === undefined || this.authorization === h) throw new ImageError(500, registryMsg);
      this.authorization = h;
      return;
    }
    const m = /^Bearer\s+(.*)$/i.exec(challenge);
    if (m === null) throw new ImageError(500, `${registryMsg} (the registry asks for ${challenge || 'credentials'})`);
    const params = challengeParams(m[1]!);
    if (params['realm'] === undefined) throw new ImageError(500, 'registry auth challenge has no realm');
    const u = new URL(params['realm']);
    if (params['service'] !== undefined) u.searchParams.set('service', params['service']);
    const scopes = (params['scope'] ?? `repository:${this.target.repository}:pull`).split(' ');
    if (extraScope !== undefined) scopes.push(extraScope);
    for (const s of scopes) u.searchParams.append('scope', s);
    const headers: Record<string, string> = {};
    let method = 'GET';
    let body: string | undefined;
    if (auth?.identityToken !== undefined) {
      method = 'POST';
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: auth.identityToken, service: params['service'] ?? '', scope: scopes.join(' '), client_id: 'shoal' });
      body = form.toString();
    } else if (auth !== undefined) {
      const h = basicHeader(auth);
      if (h !== undefined) headers['Authorization'] = h;
    }
    let res: Response;
    try {
      res = await fetch(method === 'POST' ? `${u.origin}${u.pathname}` : u, { method, headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000) });
    } catch (e) {
      throw new ImageError(500, `getting a registry token from ${u.origin} failed: ${messageOf(e)}`, { cause: e });
    }
    if (!res.ok) throw new ImageError(500, `${res.status === 401 || res.status === 403 ? 'unauthorized' : `token server answered ${res.status}`}: ${await registryMessage(res)}`);
    const v = (await res.json().catch(() => ({}))) as { token?: unknown; access_token?: unknown };
    const token = typeof v.token === 'string' ? v.token : typeof v.access_token === 'string' ? v.access_token : undefined;
    if (token === undefined) throw new ImageError(500, 'the registry token endpoint returned no token');
    this.authorization = `Bearer ${token}`;
  }

  /** Makes sure an Authorization for `scope` is in place before a request whose body cannot be replayed. */
  async ensureAuth(path: string, scope?: string): Promise<void> {
    const res = await this.request(path, { method: 'GET', timeoutMs: this.opts.timeoutMs ?? 30_000, ...(scope !== undefined ? { scope } : {}) });
    await res.body?.cancel();
  }

  /** `GET /v2/`: checks that these credentials are accepted (docker login). */
  async ping(): Promise<void> {
    const res = await this.request('/v2/', { timeoutMs: this.opts.timeoutMs ?? 15_000 });
    if (res.ok) {
      await res.body?.cancel();
      return;
    }
    throw new ImageError(500, `login attempt to ${this.target.base}/v2/ failed with status: ${res.status} ${res.statusText}: ${await registryMessage(res)}`);
  }

  /** The manifest (or index) bytes for a tag or digest, checked against the digest when one was asked for. */
  async manifest(reference: string): Promise<{ bytes: Buffer; digest: Digest; mediaType: string }> {
    const res = await this.request(`manifests/${reference}`, { accept: ACCEPT, timeoutMs: this.opts.timeoutMs ?? 30_000 });
    if (res.status === 404) {
      await res.body?.cancel();
      throw imageNotFound(`manifest for ${this.target.repository}:${reference} not found: manifest unknown`);
    }
    if (!res.ok) throw new ImageError(500, `${await registryMessage(res)} (registry answered ${res.status} for the manifest of ${this.target.repository}:${reference})`);
    const bytes = Buffer.from(await res.arrayBuffer());
    const digest = sha256Of(bytes);
    if (reference.startsWith('sha256:') && reference !== digest) throw new ImageError(500, `registry sent a manifest whose digest ${digest} is not the ${reference} asked for`);
    const mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    return { bytes, digest, mediaType };
  }

  /** A blob's bytes as a stream (the caller checks the digest while storing it). */
  async blob(digest: Digest): Promise<Readable> {
    const res = await this.request(`blobs/${digest}`, { timeoutMs: this.opts.blobTimeoutMs ?? 600_000 });
    if (!res.ok || res.body === null) {
      const msg = await registryMessage(res);
      throw new ImageError(res.status === 404 ? 404 : 500, `registry answered ${res.status} for blob ${digest} of ${this.target.repository}: ${msg}`);
    }
    return Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>);
  }

  /** The blob from byte `offset` on (Range), to resume a broken download; `start` is 0 when the registry sent it whole. */
  async blobFrom(digest: Digest, offset: number): Promise<{ stream: Readable; start: number }> {
    const res = await this.request(`blobs/${digest}`, { headers: { Range: `bytes=${offset}-` }, timeoutMs: this.opts.blobTimeoutMs ?? 600_000 });
    if ((res.status !== 200 && res.status !== 206) || res.body === null) {
      const msg = await registryMessage(res);
      throw new ImageError(res.status === 404 ? 404 : 500, `registry answered ${res.status} for blob ${digest} of ${this.target.repository} from byte ${offset}: ${msg}`);
    }
    const start = res.status === 206 ? Number(/^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1] ?? NaN) : 0;
    if (!Number.isSafeInteger(start) || start > offset) {
      await res.body.cancel();
      throw new ImageError(500, `registry answered a range of blob ${digest} that does not start at ${offset}`);
    }
    if (start !== offset && start !== 0) {
      await res.body.cancel();
      return { stream: await this.blob(digest), start: 0 };
    }
    return { stream: Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>), start };
  }

  /** `HEAD blobs/<digest>`: true when the repository already has the blob. */
  async hasBlob(digest: Digest): Promise<boolean> {
    const res = await this.request(`blobs/${digest}`, { method: 'HEAD', timeoutMs: this.opts.timeoutMs ?? 30_000, scope: `repository:${this.target.repository}:pull,push` });
    await res.body?.cancel();
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw new ImageError(500, `registry answered ${res.status} to HEAD blob ${digest} of ${this.target.repository}`);
  }

  /**
   * Starts an upload, asking to mount `digest` from `from` when given. Answers 'mounted' (201) or the
   * upload location (202: the registry does not mount, or does not have the blob there).
   */
  async startUpload(mount?: { digest: Digest; from: string }): Promise<{ mounted: true } | { mounted: false; location: string }> {
    const q = mount !== undefined ? `?mount=${mount.digest}&from=${encodeURIComponent(mount.from)}` : '';
    const scope = mount !== undefined ? `repository:${mount.from}:pull` : undefined;
    const res = await this.request(`blobs/uploads/${q}`, { method: 'POST', timeoutMs: this.opts.timeoutMs ?? 30_000, headers: { 'Content-Length': '0' }, ...(scope !== undefined ? { scope } : {}) });
    await res.body?.cancel();
    if (res.status === 201 && mount !== undefined) return { mounted: true };
    if (res.status !== 202) throw new ImageError(500, `registry answered ${res.status} to starting an upload to ${this.target.repository}`);
    const loc = res.headers.get('location');
    if (loc === null) throw new ImageError(500, 'registry started an upload without a Location');
    return { mounted: false, location: new URL(loc, this.target.base).toString() };
  }

  /**
   * PATCH the bytes into the upload session, then PUT ?digest= to close it (the registry checks the
   * digest). A transfer that breaks off, or a 5xx, is a TransientRegistryError: the caller may start a
   * new session and send the blob again (distribution cancels an upload whose PATCH broke off, so
   * there is nothing to resume).
   */
  async uploadBlob(location: string, digest: Digest, size: number, data: Readable): Promise<void> {
    const patch = await this.request(location, { method: 'PATCH', body: data, headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) }, timeoutMs: this.opts.blobTimeoutMs ?? 600_000 });
    if (patch.status !== 202) {
      const msg = `registry answered ${patch.status} to the upload of ${digest}: ${await registryMessage(patch)}`;
      throw patch.status >= 500 ? new TransientRegistryError(msg) : new ImageError(500, msg);
    }
    await patch.body?.cancel();
    const next = new URL(patch.headers.get('location') ?? location, this.target.base);
    next.searchParams.set('digest', digest);
    const put = await this.request(next.toString(), { method: 'PUT', body: Buffer.alloc(0), headers: { 'Content-Length': '0' }, timeoutMs: this.opts.timeoutMs ?? 60_000 });
    if (put.status !== 201) {
      const msg = `registry refused blob ${digest} (${put.status}): ${await registryMessage(put)}`;
      throw put.status >= 500 ? new TransientRegistryError(msg) : new ImageError(500, msg);
    }
    await put.body?.cancel();
  }

  /** `PUT manifests/<tag>` with the manifest's own media type; answers the digest the registry computed. */
  async putManifest(reference: string, bytes: Buffer, mediaType: string): Promise<Digest> {
    const res = await this.request(`manifests/${reference}`, { method: 'PUT', body: bytes, headers: { 'Content-Type': mediaType }, timeoutMs: this.opts.timeoutMs ?? 30_000 });
    if (res.status !== 201) throw new ImageError(500, `registry refused the manifest for ${this.target.repository}:${reference} (${res.status}): ${await registryMessage(res)}`);
    await res.body?.cancel();
    const d = res.headers.get('docker-content-digest');
    const own = sha256Of(bytes);
    if (d !== null && d !== own) throw new ImageError(500, `registry stored the manifest as ${d}, not ${own}`);
    return own;
  }
}
