// A KV member process: node dist/manager/raft/kv/kv-member.js --id 1 --data DIR
//   --raft 127.0.0.1:P --http 127.0.0.1:Q --peers 1=127.0.0.1:P1,2=127.0.0.1:P2,3=127.0.0.1:P3
//   [--peers-http 1=127.0.0.1:Q1,...] [--no-fsync] [--tick-ms 100] [--snapshot-interval 10000]
// Prints one JSON line {"ready":true,...} on stdout once both listeners are up; SIGTERM stops cleanly.
import { Command } from 'commander';
import { Histogram, Registry } from 'prom-client';
import { DiskStorage } from '../disk-storage.js';
import { loadCore } from '../load-core.js';
import { RaftNode } from '../raft-node.js';
import { GrpcTransport } from '../transport/grpc-transport.js';
import { createKvHttpServer } from './kv-http-server.js';
import { KvStateMachine } from './kv-state-machine.js';

export class MemberArgsError extends Error {
  constructor(message: string) { super(message); this.name = 'MemberArgsError'; }
}

export function parsePeers(s: string): Map<number, string> {
  const out = new Map<number, string>();
  if (s.trim() === '') return out;
  for (const part of s.split(',')) {
    const m = /^(\d+)=(.+:\d+)$/.exec(part.trim());
    if (m === null) throw new MemberArgsError(`bad peer "${part}" (want id=host:port)`);
    out.set(Number(m[1]), m[2]!);
  }
  return out;
}

function hostPort(s: string, what: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  const port = Number(s.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new MemberArgsError(`bad ${what} address ${s}`);
  return { host: s.slice(0, i), port };
}

async function main(argv: string[]): Promise<void> {
  const p = new Command()
    .requiredOption('--id <n>', 'raft member id')
    .requiredOption('--data <dir>', 'data directory')
    .requiredOption('--raft <addr>', 'raft listen address host:port')
    .requiredOption('--http <addr>', 'HTTP listen address host:port')
    .option('--peers <list>', 'id=host:port,… raft addresses of the initial members (self included)', '')
    .option('--peers-http <list>', 'id=host:port,… HTTP addresses, for leader hints', '')
    .option('--no-fsync', 'do not fsync (unsafe, tests only)')
    .option('--tick-ms <n>', 'tick interval', '100')
    .option('--election-ticks <n>', 'election timeout in ticks', '10')
    .option('--snapshot-interval <n>', 'applied entries between snapshots', '10000')
    .parse(argv);
  const a = p.opts<{ id: string; data: string; raft: string; http: string; peers: string; peersHttp: string; fsync: boolean; tickMs: string; electionTicks: string; snapshotInterval: string }>();
  const id = Number(a.id);
  if (!Number.isSafeInteger(id) || id <= 0) throw new MemberArgsError(`bad --id ${a.id}`);
  const peers = parsePeers(a.peers);
  if (!peers.has(id)) peers.set(id, a.raft);
  const http = hostPort(a.http, 'http');
  const registry = new Registry();
  const walSync = new Histogram({
    name: 'shoal_raft_wal_fsync_duration_seconds', help: 'WAL fdatasync/fsync latency', registers: [registry],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1],
  });
  const storage = await DiskStorage.open(a.data, { fsync: a.fsync, onSync: (sec) => walSync.observe(sec) });
  const sm = new KvStateMachine();
  const transport = new GrpcTransport({ id, listen: a.raft });
  const node = await RaftNode.start({
    id, storage, transport, stateMachine: sm, core: await loadCore(), initialMembers: peers, registry,
    tickMs: Number(a.tickMs), electionTicks: Number(a.electionTicks), snapshotInterval: Number(a.snapshotInterval),
  });
  const server = createKvHttpServer({ node, sm, registry, httpAddresses: parsePeers(a.peersHttp) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(http.port, http.host, () => resolve());
  });
  const addr = server.address();
  const httpPort = typeof addr === 'object' && addr !== null ? addr.port : http.port;
  process.stdout.write(JSON.stringify({ ready: true, id, raftPort: transport.port, httpPort, pid: process.pid }) + '\n');
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    server.close();
    server.closeAllConnections();
    node.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main(process.argv).catch((e: unknown) => {
  process.stderr.write(`kv-member: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
