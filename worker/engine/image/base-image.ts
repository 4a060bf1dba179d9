/**
 * The base image every fresh engine can run: `busybox:latest`, built reproducibly from the host's
 * static busybox by deploy/base-image/build-busybox.sh and loaded into the store when missing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImageError, messageOf } from './errors.js';
import { runTool } from './exec.js';
import type { ImageRecord } from './image-record.js';
import type { ImageStore } from './image-store.js';

export const BUSYBOX_REF = 'busybox:latest';

/** The build script, found relative to this module (source tree or dist/). */
export function busyboxScriptPath(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const up = here.includes(`${join('/dist', 'worker')}`) ? '../../../../' : '../../../';
  return join(here, up, 'deploy', 'base-image', 'build-busybox.sh');
}

/** Builds the busybox OCI layout into outDir; returns the manifest digest the script printed. */
export async function buildBusyboxLayout(outDir: string, opts: { scriptPath?: string; busybox?: string } = {}): Promise<string> {
  const args = [opts.scriptPath ?? busyboxScriptPath(), outDir];
  if (opts.busybox !== undefined) args.push(opts.busybox);
  const { stdout } = await runTool('bash', args, { timeoutMs: 120_000 });
  const digest = stdout.trim().split('\n').pop() ?? '';
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new ImageError(500, `build-busybox.sh printed no manifest digest (got ${JSON.stringify(stdout.slice(-200))})`);
  return digest;
}

/** One build at a time per store (concurrent callers share it). */
const inflight = new WeakMap<ImageStore, Promise<ImageRecord>>();

/** Returns busybox:latest, building and loading it first if the store does not have it. */
export function ensureBusybox(store: ImageStore, opts: { scriptPath?: string; busybox?: string } = {}): Promise<ImageRecord> {
  const have = store.resolve(BUSYBOX_REF);
  if (have !== undefined) return Promise.resolve(have);
  const running = inflight.get(store);
  if (running !== undefined) return running;
  const p = (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shoal-busybox-'));
    try {
      await buildBusyboxLayout(join(dir, 'oci'), opts);
      await store.loadLayout(join(dir, 'oci'), { ref: BUSYBOX_REF });
    } catch (e) {
      if (e instanceof ImageError) throw e;
      throw new ImageError(500, `building the busybox base image failed: ${messageOf(e)}`, { cause: e });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const rec = store.resolve(BUSYBOX_REF);
    if (rec === undefined) throw new ImageError(500, 'the busybox layout loaded without a busybox:latest tag');
    return rec;
  })();
  inflight.set(store, p);
  const clear = (): void => void inflight.delete(store);
  p.then(clear, clear);
  return p;
}
