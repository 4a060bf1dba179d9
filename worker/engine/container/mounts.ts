/** Resolves Binds, Mounts, Tmpfs and the image's VOLUME entries into the mounts a container gets. */
import { stat } from 'node:fs/promises';
import { isAbsolute, posix } from 'node:path';
import type { VolumeStore } from '../volume/volume-store.js';
import { badRequest } from './errors.js';
import type { ContainerCreateBody, ImageRunConfig, ResolvedMount } from './types.js';

const VOLUME_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function target(t: string | undefined, what: string): string {
  if (!t || !isAbsolute(t)) throw badRequest(`invalid mount config: ${what} target must be an absolute path, got "${t ?? ''}"`);
  const n = posix.normalize(t);
  if (n === '/') throw badRequest('invalid mount config: destination can\'t be \'/\'');
  return n;
}

function parseBind(spec: string): ResolvedMount {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3) throw badRequest(`invalid volume specification: '${spec}'`);
  const [src = '', dst = '', mode = ''] = parts;
  const modes = mode.split(',').filter(Boolean);
  for (const m of modes) {
    if (!['ro', 'rw', 'z', 'Z', 'nocopy', 'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'].includes(m)) {
      throw badRequest(`invalid mode: ${m}`);
    }
  }
  const readOnly = modes.includes('ro');
  if (isAbsolute(src)) return { type: 'bind', source: src, destination: target(dst, 'bind'), readOnly, hostPath: src };
  if (!VOLUME_NAME_RE.test(src)) throw badRequest(`invalid volume specification: '${spec}': "${src}" is neither an absolute path nor a volume name`);
  return { type: 'volume', source: src, destination: target(dst, 'volume'), readOnly };
}

function parseTmpfsOptions(opts: string): string[] {
  return opts.split(',').map((o) => o.trim()).filter((o) => o !== '');
}

/** Validates and resolves; bind sources must exist (400 otherwise). Volumes are not created here. */
export async function planMounts(body: ContainerCreateBody, image: ImageRunConfig): Promise<ResolvedMount[]> {
  const hc = body.HostConfig ?? {};
  const out: ResolvedMount[] = [];
  for (const b of hc.Binds ?? []) out.push(parseBind(b));
  for (const m of hc.Mounts ?? []) {
    const dst = target(m.Target, m.Type ?? 'mount');
    if (m.Type === 'bind') {
      if (!m.Source || !isAbsolute(m.Source)) throw badRequest('invalid mount config for type "bind": source must be an absolute path');
      out.push({ type: 'bind', source: m.Source, destination: dst, readOnly: m.ReadOnly === true, hostPath: m.Source });
    } else if (m.Type === 'volume') {
      if (m.Source && !VOLUME_NAME_RE.test(m.Source)) throw badRequest(`invalid volume name "${m.Source}"`);
      out.push({ type: 'volume', source: m.Source ?? '', destination: dst, readOnly: m.ReadOnly === true, anonymous: !m.Source });
    } else if (m.Type === 'tmpfs') {
      const o: string[] = [];
      if (m.TmpfsOptions?.SizeBytes) o.push(`size=${m.TmpfsOptions.SizeBytes}`);
      if (m.TmpfsOptions?.Mode) o.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
      out.push({ type: 'tmpfs', source: '', destination: dst, readOnly: m.ReadOnly === true, tmpfsOptions: o });
    } else {
      throw badRequest(`invalid mount config: mount type "${m.Type ?? ''}" is not supported`);
    }
  }
  for (const [dst, opts] of Object.entries(hc.Tmpfs ?? {})) {
    out.push({ type: 'tmpfs', source: '', destination: target(dst, 'tmpfs'), readOnly: false, tmpfsOptions: parseTmpfsOptions(opts) });
  }
  const seen = new Set<string>();
  for (const m of out) {
    if (seen.has(m.destination)) throw badRequest(`duplicate mount point: ${m.destination}`);
    seen.add(m.destination);
  }
  for (const v of [...Object.keys(image.Volumes ?? {}), ...Object.keys(body.Volumes ?? {})]) {
    // Docker: "invalid mount config for type volume: invalid mount path: 'v:/data' mount path must be absolute"
    if (!isAbsolute(v)) throw badRequest(`invalid mount config for type "volume": invalid mount path: '${v}' mount path must be absolute`);
    const dst = posix.normalize(v);
    if (seen.has(dst)) continue;
    seen.add(dst);
    out.push({ type: 'volume', source: '', destination: dst, readOnly: false, anonymous: true });
  }
  for (const m of out) {
    if (m.type !== 'bind') continue;
    try {
      await stat(m.source);
    } catch {
      throw badRequest(`invalid mount config for type "bind": bind source path does not exist: ${m.source}`);
    }
  }
  return out;
}

/** Creates the named volumes (first use) and anonymous ones; fills in hostPath. */
export async function materializeVolumes(mounts: ResolvedMount[], volumes: VolumeStore): Promise<ResolvedMount[]> {
  const out: ResolvedMount[] = [];
  for (const m of mounts) {
    if (m.type !== 'volume') {
      out.push(m);
      continue;
    }
    const v = await volumes.create(m.source ? { Name: m.source } : {}, { anonymous: m.anonymous === true });
    out.push({ ...m, source: v.Name, hostPath: v.Mountpoint });
  }
  return out;
}
