/**
 * The local multi-host lab: N "hosts" on one machine, each a network namespace with its own address on
 * a private bridge, its own data root, exec root and socket. The bridge lives in a "switch" namespace of
 * its own, so the machine's own namespace gets no address, route or link: everything the lab creates is
 * inside namespaces it created, and `downHosts` removes all of it.
 *
 *   <lab>-sw   bridge br0 (10.<a>.<b>.1/24, the hosts' gateway), one veth per host
 *   <lab>-h<i> lo, eth0 10.<a>.<b>.<10+i>/24, default route via .1, ip_forward on
 *
 * `upHosts` is idempotent: a host that is complete is kept, a half-made one is rebuilt.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { HostExec, runRaw } from '../../worker/engine/network/exec.js';

export interface LabOptions {
  /** Lab name, [a-z][a-z0-9]{0,5}: prefixes every namespace and engine prefix it makes. */
  name: string;
  hosts: number;
  /** Where each host's data root, exec root and socket go. */
  stateRoot: string;
  /** A /24 inside 10.0.0.0/8 for the hosts' link; derived from the name by default. */
  subnet?: string;
}

export interface LabHost {
  index: number;
  /** e.g. "demo-h1" (also the host name shoald reports) */
  name: string;
  netns: string;
  netnsPath: string;
  addr: string;
  /** engine prefix for kernel object names, [a-z0-9]{1,7} */
  prefix: string;
  dataRoot: string;
  execRoot: string;
  socket: string;
}

export interface Lab {
  name: string;
  subnet: string;
  gateway: string;
  switchNetns: string;
  hosts: LabHost[];
}

const NAME_RE = /^[a-z][a-z0-9]{0,5}$/;
const root = new HostExec(undefined);

export function labSubnet(name: string): string {
  let h = 2166136261;
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return `10.${200 + (h % 50)}.${(h >>> 8) % 250}.0/24`;
}

export function labLayout(o: LabOptions): Lab {
  if (!NAME_RE.test(o.name)) throw new Error(`lab name ${JSON.stringify(o.name)} must match ${NAME_RE.source}`);
  if (!Number.isInteger(o.hosts) || o.hosts < 1 || o.hosts > 50) throw new Error(`hosts must be 1..50, got ${o.hosts}`);
  const subnet = o.subnet ?? labSubnet(o.name);
  const m = /^10\.(\d{1,3})\.(\d{1,3})\.0\/24$/.exec(subnet);
  if (!m || Number(m[1]) > 255 || Number(m[2]) > 255) throw new Error(`subnet ${subnet} must be a 10.x.y.0/24`);
  const net = `10.${m[1]}.${m[2]}`;
  const hosts: LabHost[] = [];
  for (let i = 1; i <= o.hosts; i++) {
    const name = `${o.name}-h${i}`;
    const dir = join(o.stateRoot, o.name, `h${i}`);
    hosts.push({
      index: i, name, netns: name, netnsPath: `/run/netns/${name}`, addr: `${net}.${10 + i}`,
      prefix: `${o.name}${i}`.slice(0, 7),
      dataRoot: join(dir, 'data'), execRoot: join(dir, 'run'), socket: join(dir, 'run', 'shoal.sock'),
    });
  }
  return { name: o.name, subnet, gateway: `${net}.1`, switchNetns: `${o.name}-sw`, hosts };
}

async function ip(args: string[]): Promise<void> {
  await root.run(['ip', ...args]);
}

function netnsExists(ns: string): boolean {
  return existsSync(`/run/netns/${ns}`);
}

async function linkUp(ns: string, dev: string): Promise<boolean> {
  const r = await runRaw(['ip', '-n', ns, '-j', 'link', 'show', 'dev', dev]);
  if (r.code !== 0) return false;
  const links = JSON.parse(r.stdout) as { flags?: string[] }[];
  return links[0]?.flags?.includes('UP') ?? false;
}

async function hostComplete(lab: Lab, h: LabHost): Promise<boolean> {
  if (!netnsExists(h.netns)) return false;
  if (!(await linkUp(h.netns, 'eth0')) || !(await linkUp(lab.switchNetns, `h${h.index}`))) return false;
  const r = await runRaw(['ip', '-n', h.netns, '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
  return r.stdout.includes(`${h.addr}/24`);
}

async function makeSwitch(lab: Lab): Promise<void> {
  if (netnsExists(lab.switchNetns) && (await linkUp(lab.switchNetns, 'br0'))) return;
  if (netnsExists(lab.switchNetns)) await ip(['netns', 'del', lab.switchNetns]);
  await ip(['netns', 'add', lab.switchNetns]);
  const ns = lab.switchNetns;
  await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  await ip(['-n', ns, 'link', 'add', 'br0', 'type', 'bridge']);
  await ip(['-n', ns, 'addr', 'add', `${lab.gateway}/24`, 'dev', 'br0']);
  await ip(['-n', ns, 'link', 'set', 'br0', 'up']);
}

async function makeHost(lab: Lab, h: LabHost): Promise<void> {
  if (netnsExists(h.netns)) await ip(['netns', 'del', h.netns]);
  await runRaw(['ip', '-n', lab.switchNetns, 'link', 'del', `h${h.index}`]);
  await ip(['netns', 'add', h.netns]);
  await ip(['-n', h.netns, 'link', 'set', 'lo', 'up']);
  await ip(['-n', lab.switchNetns, 'link', 'add', `h${h.index}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.netns]);
  await ip(['-n', lab.switchNetns, 'link', 'set', `h${h.index}`, 'master', 'br0', 'up']);
  await ip(['-n', h.netns, 'addr', 'add', `${h.addr}/24`, 'dev', 'eth0']);
  await ip(['-n', h.netns, 'link', 'set', 'eth0', 'up']);
  await ip(['-n', h.netns, 'route', 'add', 'default', 'via', lab.gateway]);
  await new HostExec(h.netnsPath).run(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
}

function labFile(stateRoot: string, name: string): string {
  return join(stateRoot, name, 'lab.json');
}

/** Creates (or completes) the lab's namespaces and directories; returns its layout. */
export async function upHosts(o: LabOptions): Promise<Lab> {
  if (process.getuid?.() !== 0) throw new Error('the local cluster needs root (network namespaces)');
  const lab = labLayout(o);
  await makeSwitch(lab);
  for (const h of lab.hosts) {
    if (!(await hostComplete(lab, h))) await makeHost(lab, h);
    for (const d of [h.dataRoot, h.execRoot]) mkdirSync(d, { recursive: true });
  }
  // hosts beyond the requested count, left by an earlier bigger run
  for (const ns of listNetns()) {
    const m = new RegExp(`^${lab.name}-h(\\d+)$`).exec(ns);
    if (m && Number(m[1]) > lab.hosts.length) await removeHostNetns(ns);
  }
  const file = labFile(o.stateRoot, o.name);
  writeFileSync(`${file}.tmp`, JSON.stringify(lab, null, 2));
  renameSync(`${file}.tmp`, file);
  return lab;
}

/** The lab written by the last `upHosts`, if any. */
export function readLab(stateRoot: string, name: string): Lab | undefined {
  const file = labFile(stateRoot, name);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as Lab;
}

function listNetns(): string[] {
  return existsSync('/run/netns') ? readdirSync('/run/netns') : [];
}

/** Kills every process still in the namespace, then deletes it (its veth goes with it). */
async function removeHostNetns(ns: string): Promise<void> {
  const pids = await runRaw(['ip', 'netns', 'pids', ns]);
  for (const p of pids.stdout.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(p), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await runRaw(['ip', 'netns', 'del', ns]);
}

/** Removes every namespace of the lab (and, with purge, its state directory). */
export async function downHosts(stateRoot: string, name: string, opts: { purge?: boolean } = {}): Promise<void> {
  if (!NAME_RE.test(name)) throw new Error(`lab name ${JSON.stringify(name)} must match ${NAME_RE.source}`);
  for (const ns of listNetns()) {
    if (new RegExp(`^${name}-h\\d+$`).test(ns)) await removeHostNetns(ns);
  }
  if (netnsExists(`${name}-sw`)) await removeHostNetns(`${name}-sw`);
  if (opts.purge) rmSync(join(stateRoot, name), { recursive: true, force: true });
}
