// Benchmark: 3 shoal KV members vs a 3-member etcd, both on 127.0.0.1 with fsync on, driven by the
// same HTTP JSON client (256-byte puts, keep-alive, closed loop) at 1, 16 and 256 clients against
// the leader; then a SIGKILL of the shoal leader under load and the time to the next acknowledged
// write. Usage: npm run bench:raft -- --seconds N   (N seconds per measurement, default 10).
import { getJson } from './raft/kv-http-client.js';
import { measureFailover, runPutLoad, type LoadResult } from './raft/closed-loop.js';
import { EtcdCluster } from './raft/etcd-cluster.js';
import { KvProcessCluster, type KvProcess } from './raft/kv-processes.js';

function parseSeconds(argv: string[]): number {
  const i = argv.indexOf('--seconds');
  if (i < 0) return 10;
  const n = Number(argv[i + 1]);
  if (!(n > 0)) throw new Error(`bad --seconds ${argv[i + 1] ?? ''}`);
  return n;
}

async function shoalLeader(c: KvProcessCluster, exclude: number[] = []): Promise<KvProcess> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    for (const m of c.members) {
      if (exclude.includes(m.id) || m.child === undefined) continue;
      const s = await getJson(m.url, '/status', 500);
      if (s?.role === 'leader') return m;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('shoal cluster has no leader');
}

const fmt = (r: LoadResult): string =>
  `${String(r.clients).padStart(4)} clients: ${r.putsPerSec.toFixed(0).padStart(7)} puts/s  p50 ${r.p50Ms.toFixed(2).padStart(7)} ms  p99 ${r.p99Ms.toFixed(2).padStart(7)} ms  (${r.puts} puts, ${r.errors} errors)`;

async function main(): Promise<void> {
  const seconds = parseSeconds(process.argv.slice(2));
  const levels = [1, 16, 256];
  const shoal: LoadResult[] = [];
  const etcd: LoadResult[] = [];
  let failoverMs = NaN;

  // Both clusters run side by side and the measurements alternate (shoal, etcd, shoal, …), so a
  // background load that drifts during the run (other test suites on the box) hits both alike.
  const c = new KvProcessCluster(3, [], 'bench');
  const e = new EtcdCluster();
  try {
    await c.start();
    await e.start();
    const leader = await shoalLeader(c);
    const etcdUrl = await e.leader();
    if (etcdUrl === undefined) throw new Error('etcd has no leader');
    // Warm-up, not measured: both clusters take the same load for a while first, so that the first
    // level measures a steady state (V8 has compiled the hot paths; etcd's caches are warm) rather
    // than the start-up of whichever system goes first.
    const warm = Math.min(3, seconds);
    await runPutLoad(leader.url, 16, warm);
    await runPutLoad(etcdUrl, 16, warm);
    for (const n of levels) {
      const r = await runPutLoad(leader.url, n, seconds);
      shoal.push(r);
      console.log(`shoal ${fmt(r)}`);
      const t = await runPutLoad(etcdUrl, n, seconds);
      etcd.push(t);
      console.log(`etcd  ${fmt(t)}`);
    }
    await e.destroy();
    const others = c.members.filter((m) => m.id !== leader.id).map((m) => m.url);
    failoverMs = await measureFailover([leader.url, ...others], 16, 1000, () => c.kill(leader.id));
    console.log(`shoal failover: SIGKILL of the leader → next acknowledged write after ${failoverMs.toFixed(0)} ms`);
  } finally {
    await e.destroy();
    await c.destroy();
  }

  console.log('\nclients |  shoal puts/s  p50 ms  p99 ms |  etcd puts/s  p50 ms  p99 ms');
  for (let i = 0; i < levels.length; i++) {
    const s = shoal[i]!;
    const t = etcd[i]!;
    console.log(`${String(levels[i]).padStart(7)} | ${s.putsPerSec.toFixed(0).padStart(12)} ${s.p50Ms.toFixed(2).padStart(7)} ${s.p99Ms.toFixed(2).padStart(7)} | ${t.putsPerSec.toFixed(0).padStart(11)} ${t.p50Ms.toFixed(2).padStart(7)} ${t.p99Ms.toFixed(2).padStart(7)}`);
  }
  console.log(`failover (shoal): ${failoverMs.toFixed(0)} ms`);
  const ratio = shoal[2]!.putsPerSec / etcd[2]!.putsPerSec;
  console.log(`raft/etcd throughput ratio at 256 clients: ${ratio.toFixed(2)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exitCode = 1;
});
