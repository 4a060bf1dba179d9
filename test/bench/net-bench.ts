// Benchmark: TCP throughput between two containers on two hosts over a shoal overlay (VXLAN) against the
// same transfer between the two hosts on their underlay, in the same run. The hosts are network
// namespaces joined by a veth pair (the test harness's lab); the containers are the network namespaces
// the engine's NetworkManager gives containers. Transfers alternate (underlay, overlay, …) so that the
// machine's load hits both alike; besides throughput it prints the CPU time the two ends spent per GiB
// (process time of sender + receiver, which on veth includes the kernel's forwarding work done in their
// context) — on a loaded machine throughput follows the CPU share the bench gets, the CPU per GiB
// follows the path's cost. Usage: npm run bench:net -- [--mib N] [--runs N]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { NetworkManager } from '../../worker/engine/network/index.js';
import { containerId, makeLab } from '../integration/network/netns-harness.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return dflt;
  const n = Number(process.argv[i + 1]);
  if (!(n > 0)) throw new Error(`bad ${name} ${process.argv[i + 1] ?? ''}`);
  return n;
}

const SINK_JS = `
const net = require('node:net');
const srv = net.createServer((s) => {
  let n = 0; const t0 = process.hrtime.bigint(); const c0 = process.cpuUsage();
  s.on('data', (d) => { n += d.length; });
  s.on('end', () => { const ms = Number(process.hrtime.bigint() - t0) / 1e6; const c = process.cpuUsage(c0); s.end(JSON.stringify({ bytes: n, ms, cpuMs: (c.user + c.system) / 1e3 })); });
});
srv.listen(Number(process.argv[1]), '0.0.0.0', () => process.stdout.write('ready\\n'));
`;

const SOURCE_JS = `
const net = require('node:net');
const total = Number(process.argv[3]) * 1024 * 1024;
const chunk = Buffer.alloc(1024 * 1024, 7);
const c0 = process.cpuUsage();
const s = net.connect({ host: process.argv[1], port: Number(process.argv[2]) }, () => {
  let sent = 0;
  const pump = () => { while (sent < total) { sent += chunk.length; if (!s.write(chunk)) return s.once('drain', pump); } s.end(); };
  pump();
});
let out = ''; s.on('data', (d) => (out += d));
s.on('end', () => { const c = process.cpuUsage(c0); const r = JSON.parse(out); r.cpuMs += (c.user + c.system) / 1e3; process.stdout.write(JSON.stringify(r)); });
s.on('error', (e) => { process.stderr.write(String(e)); process.exit(2); });
`;

function inNs(nsPath: string, args: string[]): ReturnType<typeof spawn> {
  return spawn('nsenter', [`--net=${nsPath}`, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

async function startSink(nsPath: string, port: number): Promise<() => void> {
  const c = inNs(nsPath, ['-e', SINK_JS, String(port)]);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('sink did not start')), 10_000);
    c.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) { clearTimeout(t); resolve(); } });
    c.on('exit', (code) => reject(new Error(`sink exited ${String(code)}`)));
  });
  return () => c.kill('SIGKILL');
}

interface Transfer {
  /** the receiver's throughput */
  gbit: number;
  /** CPU time of sender + receiver per GiB moved */
  cpuMsPerGiB: number;
}

/** One transfer of `mib` MiB from `fromNs` to host:port. */
async function transfer(fromNs: string, host: string, port: number, mib: number): Promise<Transfer> {
  const c = inNs(fromNs, ['-e', SOURCE_JS, host, String(port), String(mib)]);
  let out = '';
  let err = '';
  c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number>((resolve) => c.on('close', (k) => resolve(k ?? -1)));
  if (code !== 0) throw new Error(`transfer to ${host}:${port} failed: ${err}`);
  const r = JSON.parse(out) as { bytes: number; ms: number; cpuMs: number };
  if (r.bytes !== mib * 1024 * 1024) throw new Error(`received ${r.bytes} bytes, sent ${mib} MiB`);
  return { gbit: (r.bytes * 8) / (r.ms / 1000) / 1e9, cpuMsPerGiB: r.cpuMs / (r.bytes / 2 ** 30) };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const mib = arg('--mib', 256);
  const runs = arg('--runs', 11);
  const lab = makeLab();
  const nms: NetworkManager[] = [];
  const stops: Array<() => void> = [];
  try {
    const nmA = await NetworkManager.open({ stateDir: `${lab.stateDir}/a`, prefix: lab.prefix, hostNetns: lab.hostNs, mtu: 1500, dnsUpstreams: [], overlayLocalAddr: lab.hostAddr });
    nms.push(nmA);
    const nmB = await NetworkManager.open({ stateDir: `${lab.stateDir}/b`, prefix: `u${lab.prefix.slice(1)}`, hostNetns: lab.clientNs, mtu: 1500, dnsUpstreams: [], overlayLocalAddr: lab.clientAddr });
    nms.push(nmB);
    const r = randomBytes(1)[0]!;
    const spec = { id: randomBytes(16).toString('hex').slice(0, 25), name: `bench-${lab.prefix}`, vni: 7000 + r, subnet: `10.250.${r}.0/24`, gateway: `10.250.${r}.1` };
    await nmA.ensureOverlay(spec);
    await nmB.ensureOverlay(spec);
    const att = (nm: NetworkManager, ip: string) => nm.attach(containerId(), { networkMode: spec.name, extraNetworks: [{ network: spec.name, aliases: [], ipv4Address: ip }], name: ip, hostname: 'c', portBindings: [] });
    const a = await att(nmA, `10.250.${r}.10`);
    const b = await att(nmB, `10.250.${r}.11`);
    const ep = (x: typeof a) => x.endpoints[0]!;
    await nmA.setOverlayPeers(spec.id, [{ ip: ep(b).ipAddress, mac: ep(b).macAddress, vtep: lab.clientAddr }]);
    await nmB.setOverlayPeers(spec.id, [{ ip: ep(a).ipAddress, mac: ep(a).macAddress, vtep: lab.hostAddr }]);

    stops.push(await startSink(`/run/netns/${lab.clientNs}`, 7100));
    stops.push(await startSink(b.netnsPath!, 7100));
    const under: Transfer[] = [];
    const over: Transfer[] = [];
    const load0 = loadavg()[0]!;
    // alternate, so that drift in the machine's load hits both alike
    for (let i = 0; i < runs; i++) {
      under.push(await transfer(lab.hostNsPath, lab.clientAddr, 7100, mib));
      over.push(await transfer(a.netnsPath!, ep(b).ipAddress, 7100, mib));
    }
    const u = median(under.map((x) => x.gbit));
    const o = median(over.map((x) => x.gbit));
    const uc = median(under.map((x) => x.cpuMsPerGiB));
    const oc = median(over.map((x) => x.cpuMsPerGiB));
    console.log(`underlay (host → host, veth, MTU 1500):            ${under.map((x) => x.gbit.toFixed(2)).join(' ')} Gbit/s, median ${u.toFixed(2)}; CPU ${uc.toFixed(0)} ms/GiB`);
    console.log(`overlay  (container → container, VXLAN, MTU 1450): ${over.map((x) => x.gbit.toFixed(2)).join(' ')} Gbit/s, median ${o.toFixed(2)}; CPU ${oc.toFixed(0)} ms/GiB`);
    console.log(`(${runs} alternating transfers of ${mib} MiB each, one TCP connection, Node on both ends; load average ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)} on ${cpus().length} CPUs)`);
    console.log(`overlay/underlay CPU cost ratio (underlay ms/GiB ÷ overlay ms/GiB): ${(uc / oc).toFixed(2)}`);
    console.log(`overlay/underlay throughput ratio: ${(o / u).toFixed(2)}`);
  } finally {
    for (const s of stops) s();
    for (const nm of nms) await nm.close({ removeAll: true }).catch(() => undefined);
    lab.cleanup();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
