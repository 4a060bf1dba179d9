/**
 * A throwaway engine for container tests: temp data/exec roots, a one-layer busybox image, a networking
 * adapter that gives each container a fresh netns with only lo (Docker's `none`), and cleanup that
 * removes every container, mount, cgroup, netns and directory it made.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Attachment, AttachRequest } from '../../../worker/engine/network/index.js';
import { ContainerManager, type ContainerManagerOptions } from '../../../worker/engine/container/container-manager.js';
import type { ContainerImages, ContainerNetworking, ImageLike } from '../../../worker/engine/container/types.js';
import { VolumeStore } from '../../../worker/engine/volume/volume-store.js';
import { allHierarchies, v1Hierarchies } from '../../../worker/engine/runtime/cgroups.js';

export const IMAGE_ID = 'sha256:' + 'b'.repeat(64);

/** busybox-static plus its applet links, /etc/passwd with root and nobody, as an unpacked layer dir. */
export function makeBusyboxLayer(dir: string): void {
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'var', 'run', 'home/app']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'bin/busybox'));
  execFileSync('chmod', ['755', join(dir, 'bin/busybox')]);
  const applets = execFileSync('/bin/busybox', ['--list']).toString().split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) symlinkSync('busybox', join(dir, 'bin', a));
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\napp:x:1000:\n');
}

export class BusyboxImages implements ContainerImages {
  constructor(readonly layers: string[], readonly extraConfig: Record<string, unknown> = {}) {}
  resolve(ref: string): ImageLike | undefined {
    if (!['busybox', 'busybox:latest', IMAGE_ID].includes(ref) && !(ref.length >= 4 && IMAGE_ID.slice(7).startsWith(ref))) return undefined;
    return { id: IMAGE_ID, repoTags: ['busybox:latest'], config: { config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'], ...this.extraConfig } } };
  }
  lowerDirs(): string[] {
    return this.layers;
  }
}

/** `none` networking: a fresh netns `<prefix>-<id12>` with lo up; `host`: no netns. */
export class NoneNetworking implements ContainerNetworking {
  readonly attached = new Map<string, Attachment>();
  constructor(readonly prefix: string) {}
  netnsName(id: string): string {
    return `${this.prefix}-${id.slice(0, 12)}`;
  }
  async attach(id: string, req: AttachRequest): Promise<Attachment> {
    const hosts = `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n`;
    if (req.networkMode === 'host') {
      const a: Attachment = { endpoints: [], hostsFile: hosts, resolvConf: 'nameserver 127.0.0.1\n', ports: [] };
      this.attached.set(id, a);
      return a;
    }
    const name = this.netnsName(id);
    if (!existsSync(`/run/netns/${name}`)) {
      execFileSync('ip', ['netns', 'add', name]);
      execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    }
    const a: Attachment = { netnsPath: `/run/netns/${name}`, endpoints: [], hostsFile: hosts, resolvConf: '', ports: [] };
    this.attached.set(id, a);
    return a;
  }
  async detach(id: string): Promise<void> {
    this.attached.delete(id);
    const name = this.netnsName(id);
    if (existsSync(`/run/netns/${name}`)) execFileSync('ip', ['netns', 'del', name]);
  }
  getAttachment(id: string): Attachment | undefined {
    return this.attached.get(id);
  }
}

export interface Fixture {
  base: string;
  prefix: string;
  dataRoot: string;
  execRoot: string;
  layer: string;
  images: BusyboxImages;
  networks: NoneNetworking;
  volumes: VolumeStore;
  mgr: ContainerManager;
  reopen(): Promise<ContainerManager>;
  cleanup(): Promise<void>;
}

export function uniquePrefix(): string {
  return `t${(process.pid % 1000).toString(36)}${randomBytes(2).toString('hex')}`.slice(0, 7);
}

/** Fails (never skips) when the machine cannot run containers: root, conmon, an OCI runtime, socat, cgroup v1 memory. */
export function requireContainerHost(): void {
  if (process.getuid?.() !== 0) throw new Error('container tests need root (overlay mounts, cgroups, namespaces)');
  for (const p of ['/usr/bin/conmon', '/bin/busybox', '/sys/fs/cgroup/memory', '/sys/fs/cgroup/pids']) {
    if (!existsSync(p)) throw new Error(`container tests need ${p}`);
  }
  if (!existsSync('/usr/sbin/runc') && !existsSync('/usr/bin/crun')) throw new Error('container tests need runc or crun');
  if (!['/usr/bin/socat', '/bin/socat'].some(existsSync)) throw new Error('container tests need socat (attach stdin)');
  if (!['/usr/bin/script', '/bin/script'].some(existsSync)) throw new Error('container tests need script(1) from util-linux (exec with a TTY)');
}

export async function openFixture(o: { extraConfig?: Record<string, unknown>; layers?: string[] } = {}): Promise<Fixture> {
  requireContainerHost();
  const base = mkdtempSync('/tmp/shoal-ct-');
  const prefix = uniquePrefix();
  const layer = join(base, 'layer');
  makeBusyboxLayer(layer);
  const dataRoot = join(base, 'data');
  const execRoot = join(base, 'exec');
  const images = new BusyboxImages(o.layers ?? [layer], o.extraConfig);
  const networks = new NoneNetworking(prefix);
  const volumes = await VolumeStore.open(join(dataRoot, 'volumes'));
  const opts: ContainerManagerOptions = { dataRoot, execRoot, prefix, images, networks, volumes, exitPollMs: 200 };
  const f: Fixture = {
    base, prefix, dataRoot, execRoot, layer, images, networks, volumes,
    mgr: await ContainerManager.open(opts),
    async reopen() {
      f.mgr.close();
      f.mgr = await ContainerManager.open(opts);
      return f.mgr;
    },
    async cleanup() {
      for (const r of f.mgr.store.all()) await f.mgr.remove(r.id, { force: true, v: true }).catch(() => undefined);
      f.mgr.close();
      // anything left behind by a failed test: conmon processes, mounts, netns, cgroups
      for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
        const mp = line.split(' ')[4];
        if (mp && mp.startsWith(base)) execFileSync('umount', ['-l', mp]);
      }
      for (const ns of execFileSync('ip', ['netns', 'list']).toString().split('\n')) {
        const name = ns.split(' ')[0];
        if (name && name.startsWith(`${prefix}-`)) execFileSync('ip', ['netns', 'del', name]);
      }
      // the manager leaves its parent cgroup (an engine removes it on destroy): in every hierarchy, cgroup2 too
      for (const h of await allHierarchies()) {
        const p = join(h, `shoal-${prefix}`);
        if (existsSync(p)) execFileSync('find', [p, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';']);
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
  return f;
}

/** Runs a container to completion and returns its exit code and output. */
export async function runToExit(mgr: ContainerManager, body: Parameters<ContainerManager['create']>[0], name?: string): Promise<{ id: string; code: number; stdout: string; stderr: string }> {
  const { Id } = await mgr.create({ HostConfig: { NetworkMode: 'none', ...(body.HostConfig ?? {}) }, ...body, ...(body.HostConfig ? {} : {}) }, name);
  const exited = mgr.wait(Id, 'next-exit');
  await mgr.start(Id);
  const { StatusCode } = await exited;
  let stdout = '';
  let stderr = '';
  for await (const e of mgr.io.logs(Id, {})) {
    if (e.stream === 'stdout') stdout += e.data.toString();
    else stderr += e.data.toString();
  }
  return { id: Id, code: StatusCode, stdout, stderr };
}

/** Whether anything of the container is left on the host: dir, mount, netns, cgroup. */
export async function leftovers(f: Fixture, id: string): Promise<string[]> {
  const out: string[] = [];
  if (existsSync(join(f.dataRoot, 'containers', id))) out.push('dir');
  if (readFileSync('/proc/self/mountinfo', 'utf8').includes(id)) out.push('mount');
  if (existsSync(`/run/netns/${f.prefix}-${id.slice(0, 12)}`)) out.push('netns');
  for (const h of await v1Hierarchies()) if (existsSync(join(h, `shoal-${f.prefix}`, id))) out.push(`cgroup ${h}`);
  return out;
}
