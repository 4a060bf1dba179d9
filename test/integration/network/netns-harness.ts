/**
 * Test harness for the network integration tests: a fresh "host" netns per test (so the machine's own
 * namespace is never touched), a "client" netns wired to it by a veth pair, and small Node programs run
 * inside namespaces with `nsenter --net` (TCP servers, TCP clients, DNS lookups). Everything it starts or
 * creates is removed by `cleanup()`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

export function sh(cmd: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { input: input ?? '', encoding: 'utf8', timeout: 20_000 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function mustSh(cmd: string[], input?: string): string {
  const r = sh(cmd, input);
  if (r.code !== 0) throw new Error(`${cmd.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Fails (never skips) when the test cannot run here: needs root, iproute2, nft, nsenter. */
export function requireRootNetworking(): void {
  if (process.getuid?.() !== 0) throw new Error('this test needs root (network namespaces, bridges, nftables)');
  for (const tool of ['ip', 'nft', 'nsenter']) {
    if (sh(['which', tool]).code !== 0) throw new Error(`this test needs the ${tool} tool`);
  }
}

export interface Lab {
  /** unique short tag, also the engine prefix: [a-z0-9]{7} */
  prefix: string;
  hostNs: string;
  hostNsPath: string;
  clientNs: string;
  /** the host's address on the client link, and the client's */
  hostAddr: string;
  clientAddr: string;
  stateDir: string;
  children: ChildProcess[];
  cleanup(): void;
}

let seq = 0;

/** A host netns (lo up, uplink 10.<a>.<b>.1/24 to a client netns .2) and a temp state dir. */
export function makeLab(): Lab {
  requireRootNetworking();
  seq++;
  const rnd = randomBytes(3);
  const prefix = `t${rnd.toString('hex')}`;
  const n = rnd.readUInt16BE(0) ^ (process.pid & 0xffff) ^ seq;
  const hostNs = `${prefix}-host`;
  const clientNs = `${prefix}-cli`;
  const a = 100 + (n % 100);
  const b = (n >> 7) % 250;
  const hostAddr = `10.${a}.${b}.1`;
  const clientAddr = `10.${a}.${b}.2`;
  const stateDir = mkdtempSync(join(tmpdir(), `shoal-net-${prefix}-`));
  mustSh(['ip', 'netns', 'add', hostNs]);
  mustSh(['ip', 'netns', 'add', clientNs]);
  mustSh(['ip', '-n', hostNs, 'link', 'set', 'lo', 'up']);
  mustSh(['ip', '-n', clientNs, 'link', 'set', 'lo', 'up']);
  mustSh(['ip', '-n', hostNs, 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', clientNs]);
  mustSh(['ip', '-n', hostNs, 'addr', 'add', `${hostAddr}/24`, 'dev', 'uplink']);
  mustSh(['ip', '-n', hostNs, 'link', 'set', 'uplink', 'up']);
  mustSh(['ip', '-n', clientNs, 'addr', 'add', `${clientAddr}/24`, 'dev', 'eth0']);
  mustSh(['ip', '-n', clientNs, 'link', 'set', 'eth0', 'up']);
  mustSh(['ip', '-n', clientNs, 'route', 'add', 'default', 'via', hostAddr]);
  const lab: Lab = {
    prefix, hostNs, hostNsPath: `/run/netns/${hostNs}`, clientNs, hostAddr, clientAddr, stateDir, children: [],
    cleanup() {
      for (const c of lab.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      for (const ns of [clientNs, hostNs]) if (existsSync(`/run/netns/${ns}`)) sh(['ip', 'netns', 'del', ns]);
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return lab;
}

const SERVER_JS = `
const net = require('node:net');
const [port, tag] = [Number(process.argv[1]), process.argv[2]];
const srv = net.createServer((s) => { s.on('error', () => {}); s.end(tag + ' from=' + s.remoteAddress.replace(/^::ffff:/, '')); });
srv.listen(port, '0.0.0.0', () => process.stdout.write('ready\\n'));
`;

/** A TCP server in `nsPath` answering "<tag> from=<peer address>" to every connection. */
export async function startServer(lab: Lab, nsPath: string, port: number, tag: string): Promise<ChildProcess> {
  const child = spawn('nsenter', [`--net=${nsPath}`, process.execPath, '-e', SERVER_JS, String(port), tag], { stdio: ['ignore', 'pipe', 'pipe'] });
  lab.children.push(child);
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const t = setTimeout(() => reject(new Error(`server ${tag} did not start: ${err}`)), 10_000);
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`server ${tag} exited with ${String(code)}: ${err}`));
    });
  });
  return child;
}

const CLIENT_JS = `
const net = require('node:net');
const s = net.connect({ host: process.argv[1], port: Number(process.argv[2]) });
let out = '';
const t = setTimeout(() => { process.stdout.write('TIMEOUT'); process.exit(3); }, 4000);
s.on('data', (d) => (out += d));
s.on('end', () => { clearTimeout(t); process.stdout.write(out); process.exit(0); });
s.on('error', (e) => { clearTimeout(t); process.stdout.write('ERROR ' + e.code); process.exit(2); });
`;

/** Connects from `nsPath` to host:port and returns what the server said (or "TIMEOUT"/"ERROR <code>"). */
export function tcpFrom(nsPath: string, host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('nsenter', [`--net=${nsPath}`, process.execPath, '-e', CLIENT_JS, host, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('close', () => {
      clearTimeout(t);
      resolve(out.trim());
    });
  });
}

/** Runs a command without blocking the event loop (the embedded DNS under test lives in this process). */
export function shAsync(cmd: string[], timeoutMs = 15_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code: code ?? -1, out });
    });
  });
}

/** busybox nslookup inside `nsPath` against 127.0.0.11; returns the output and exit code. */
export function nslookup(nsPath: string, name: string): Promise<{ code: number; out: string }> {
  return shAsync(['nsenter', `--net=${nsPath}`, '/bin/busybox', 'nslookup', name, '127.0.0.11']);
}

/** The IPv4 addresses listed after "Name:" in busybox nslookup output. */
export function nslookupAddresses(out: string): string[] {
  const idx = out.indexOf('Name:');
  if (idx < 0) return [];
  return [...out.slice(idx).matchAll(/Address(?:\s*\d*)?:\s*(\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1]!);
}

export function linkMtu(ns: string, dev: string): number {
  const j: unknown = JSON.parse(mustSh(['ip', '-n', ns, '-j', 'link', 'show', 'dev', dev]));
  return (j as { mtu: number }[])[0]!.mtu;
}

export function linkExistsIn(ns: string, dev: string): boolean {
  return sh(['ip', '-n', ns, 'link', 'show', 'dev', dev]).code === 0;
}

export function nftTableIn(hostNs: string, table: string): string | undefined {
  const r = sh(['ip', 'netns', 'exec', hostNs, 'nft', 'list', 'table', 'ip', table]);
  return r.code === 0 ? r.stdout : undefined;
}

export function containerId(): string {
  let s = '';
  while (s.length < 64) s += Math.floor(Math.random() * 16).toString(16);
  return s;
}

const UDP_ECHO_JS = `
const dgram = require('node:dgram');
const s = dgram.createSocket('udp4');
s.on('message', (m, r) => s.send(Buffer.from(m.toString() + ' from=' + r.address), r.port, r.address));
s.bind(Number(process.argv[1]), '0.0.0.0', () => process.stdout.write('ready\\n'));
`;

/** A UDP server in `nsPath` echoing "<payload> from=<peer address>". */
export async function startUdpEcho(lab: Lab, nsPath: string, port: number): Promise<void> {
  const child = spawn('nsenter', [`--net=${nsPath}`, process.execPath, '-e', UDP_ECHO_JS, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  lab.children.push(child);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('udp echo did not start')), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
}

const UDP_CLIENT_JS = `
const dgram = require('node:dgram');
const s = dgram.createSocket('udp4');
const t = setTimeout(() => { process.stdout.write('TIMEOUT'); process.exit(3); }, 3000);
s.on('message', (m) => { clearTimeout(t); process.stdout.write(m.toString()); process.exit(0); });
s.send(Buffer.from(process.argv[3]), Number(process.argv[2]), process.argv[1]);
`;

/** Sends one datagram from `nsPath` and returns the reply (or "TIMEOUT"). */
export async function udpFrom(nsPath: string, host: string, port: number, payload: string): Promise<string> {
  return (await shAsync(['nsenter', `--net=${nsPath}`, process.execPath, '-e', UDP_CLIENT_JS, host, String(port), payload])).out.trim();
}

/** A DNS query over TCP to 127.0.0.11:53 from `nsPath`; returns the A addresses (or an error word). */
export async function tcpDnsFrom(nsPath: string, name: string): Promise<string> {
  const codec = new URL('../../../worker/engine/network/dns-codec.js', import.meta.url).href;
  const js = `
import('${codec}').then(({ encodeQuery, decodeMessage }) => {
  const net = require('node:net');
  const q = encodeQuery(4242, process.argv[1]);
  const len = Buffer.alloc(2); len.writeUInt16BE(q.length, 0);
  const s = net.connect({ host: '127.0.0.11', port: 53 }, () => s.write(Buffer.concat([len, q])));
  let buf = Buffer.alloc(0);
  const t = setTimeout(() => { process.stdout.write('TIMEOUT'); process.exit(3); }, 3000);
  s.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      clearTimeout(t);
      const m = decodeMessage(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      process.stdout.write(m.answers.map((a) => a.data).join(',') || 'rcode=' + m.rcode);
      s.destroy();
    }
  });
  s.on('error', (e) => { process.stdout.write('ERROR ' + e.code); process.exit(2); });
});
`;
  return (await shAsync(['nsenter', `--net=${nsPath}`, process.execPath, '-e', js, name])).out.trim();
}
