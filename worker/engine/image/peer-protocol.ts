/**
 * The read-only, content-addressed protocol one node's engine serves so that another node can fetch
 * an image it lacks without a registry (HTTP/1.1 over the cluster's mutual TLS):
 *
 *   GET /shoal/peer/v1/manifests/<encodeURIComponent(ref)>   → the image's manifest bytes
 *       ref: "name:tag", "name@sha256:<manifest>", "name:tag@sha256:<manifest>" (the digest wins) or an
 *       image ID "sha256:<config>"; headers Docker-Content-Digest (the manifest's digest),
 *       Content-Type (its media type), X-Shoal-Image-Id (its config digest)
 *   GET /shoal/peer/v1/blobs/<sha256:hex>                    → the blob's bytes, Docker-Content-Digest;
 *       "Range: bytes=N-" answers 206 from byte N (resuming a broken transfer), 416 past the end
 *
 * Errors are `{"message"}` with 400 (malformed ref or digest), 404 (not on this node), 405 (anything
 * but GET/HEAD). Nothing is trusted by the puller: it checks every manifest, config and layer against
 * its digest. Pure: no I/O here.
 */
import { isDigest, type Digest } from './digest.js';
import { parseRef } from './reference.js';

export const PEER_PREFIX = '/shoal/peer/v1';
export const HEADER_DIGEST = 'docker-content-digest';
export const HEADER_IMAGE_ID = 'x-shoal-image-id';

export type PeerRequest = { kind: 'manifest'; ref: string } | { kind: 'blob'; digest: Digest } | { kind: 'error'; status: 400 | 404 | 405; message: string };

export function manifestPath(ref: string): string {
  return `${PEER_PREFIX}/manifests/${encodeURIComponent(ref)}`;
}

export function blobPath(digest: Digest): string {
  return `${PEER_PREFIX}/blobs/${digest}`;
}

/** Parses a request line's method and path (with or without a query) into what it asks for. */
export function parsePeerRequest(method: string, rawPath: string): PeerRequest {
  const path = rawPath.split('?')[0]!;
  if (!path.startsWith(`${PEER_PREFIX}/`)) return { kind: 'error', status: 404, message: `no such peer endpoint: ${path.slice(0, 200)}` };
  if (method !== 'GET' && method !== 'HEAD') return { kind: 'error', status: 405, message: `method ${method} is not allowed: the peer image endpoint is read-only` };
  const rest = path.slice(PEER_PREFIX.length + 1);
  const slash = rest.indexOf('/');
  const what = slash < 0 ? rest : rest.slice(0, slash);
  const arg = slash < 0 ? '' : rest.slice(slash + 1);
  if (what === 'blobs') {
    if (!isDigest(arg)) return { kind: 'error', status: 400, message: `digest: "${arg.slice(0, 100)}" is not sha256:<64 hex>` };
    return { kind: 'blob', digest: arg };
  }
  if (what === 'manifests') {
    let ref: string;
    try {
      ref = decodeURIComponent(arg);
    } catch {
      return { kind: 'error', status: 400, message: 'ref: not valid percent-encoding' };
    }
    if (ref === '') return { kind: 'error', status: 400, message: 'ref: required' };
    if (isDigest(ref)) return { kind: 'manifest', ref };
    try {
      parseRef(ref);
    } catch (e) {
      return { kind: 'error', status: 400, message: `ref: ${(e as Error).message}` };
    }
    return { kind: 'manifest', ref };
  }
  return { kind: 'error', status: 404, message: `no such peer endpoint: ${path.slice(0, 200)}` };
}

/**
 * What a serving store should look up for `ref`: a reference carrying a digest is looked up by that
 * manifest digest alone (content-addressed: the name does not matter); an image ID as itself; a tag as
 * the tag.
 */
export function lookupKey(ref: string): string {
  if (isDigest(ref)) return ref;
  const p = parseRef(ref);
  return p.digest !== undefined ? `${p.name}@${p.digest}` : ref;
}
