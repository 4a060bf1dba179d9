/**
 * Image references in Docker's grammar: `[domain[:port]/]path[:tag][@sha256:hex]`.
 * The familiar form drops `docker.io/` and `library/` ("docker.io/library/busybox" → "busybox");
 * a reference without tag or digest means `:latest`.
 */
import { isDigest, type Digest } from './digest.js';
import { badImageInput } from './errors.js';

export interface ParsedRef {
  /** Familiar repository name: "busybox", "foo/bar", "localhost:5000/x". */
  name: string;
  tag?: string;
  digest?: Digest;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;

export function parseRef(ref: string): ParsedRef {
  if (typeof ref !== 'string' || ref.length === 0 || ref.length > 512) throw badImageInput(`invalid reference format: ${JSON.stringify(ref)}`);
  let rest = ref;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw badImageInput(`invalid reference format: ${ref}: bad digest`);
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw badImageInput(`invalid reference format: ${ref}: bad tag`);
  }
  const parts = rest.split('/');
  let domain: string | undefined;
  if (parts.length > 1 && (parts[0]!.includes('.') || parts[0]!.includes(':') || parts[0] === 'localhost')) {
    domain = parts.shift()!;
    if (!DOMAIN.test(domain)) throw badImageInput(`invalid reference format: ${ref}: bad domain`);
  }
  if (parts.length === 0 || !parts.every((p) => COMPONENT.test(p))) {
    throw badImageInput(`invalid reference format: repository name (${ref}) must be lowercase letters, digits and separators`);
  }
  if (domain === 'docker.io' || domain === 'index.docker.io') domain = undefined;
  if (domain === undefined && parts.length === 2 && parts[0] === 'library') parts.shift();
  const name = domain === undefined ? parts.join('/') : `${domain}/${parts.join('/')}`;
  const out: ParsedRef = { name };
  if (tag !== undefined) out.tag = tag;
  if (digest !== undefined) out.digest = digest;
  return out;
}

/** "busybox" → "busybox:latest"; "docker.io/library/busybox:1" → "busybox:1"; "x@sha256:…" stays a digest reference. */
export function normalizeRef(ref: string): string {
  const p = parseRef(ref);
  if (p.digest !== undefined && p.tag === undefined) return `${p.name}@${p.digest}`;
  return `${p.name}:${p.tag ?? 'latest'}`;
}

/** The fully qualified form containerd and OCI annotations use: "docker.io/library/busybox:latest". */
export function fullyQualified(ref: string): string {
  const p = parseRef(normalizeRef(ref));
  const first = p.name.split('/')[0]!;
  const hasDomain = p.name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  const name = hasDomain ? p.name : p.name.includes('/') ? `docker.io/${p.name}` : `docker.io/library/${p.name}`;
  return p.digest !== undefined && p.tag === undefined ? `${name}@${p.digest}` : `${name}:${p.tag ?? 'latest'}`;
}

/** Splits a normalized "name:tag" into its parts. */
export function splitTagged(normalized: string): { name: string; tag: string } {
  const p = parseRef(normalized);
  return { name: p.name, tag: p.tag ?? 'latest' };
}
