/**
 * `shoal swarm init|join|join-token|leave|update|unlock|unlock-key` with the docker CLI's flags and
 * output: the same requests (POST /swarm/init, then the node and swarm for the printed join command;
 * POST /swarm/join, then /info for the role) and the same text, with `shoal` in the printed commands.
 */
import type { Command } from 'commander';
import type { ApiClient } from '../api-client.js';
import { asRecord, n, s } from './format.js';
import type { ClientOf } from './container-commands.js';
import { FlagError } from './run-flags.js';
import { parseDuration } from './service-commands.js';

const NS = 1e9;

function intFlag(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw new FlagError(`invalid argument "${v}" for "${flag}" flag: strconv.ParseInt: parsing "${v}": invalid syntax`);
  return Number(v);
}

function durationFlag(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  try {
    return parseDuration(v);
  } catch {
    throw new FlagError(`invalid argument "${v}" for "${flag}" flag: time: invalid duration "${v}"`);
  }
}

interface SpecFlags {
  taskHistoryLimit?: string;
  dispatcherHeartbeat?: string;
  certExpiry?: string;
  snapshotInterval?: string;
  maxSnapshots?: string;
  autolock?: boolean;
}

function addSpecFlags(c: Command): Command {
  return c
    .option('--task-history-limit <n>', 'Task history retention limit')
    .option('--dispatcher-heartbeat <d>', 'Dispatcher heartbeat period (ns|us|ms|s|m|h)')
    .option('--cert-expiry <d>', 'Validity period for node certificates (ns|us|ms|s|m|h)')
    .option('--snapshot-interval <n>', 'Number of log entries between Raft snapshots')
    .option('--max-snapshots <n>', 'Number of additional Raft snapshots to retain')
    .option('--autolock', 'Enable manager autolocking (requiring an unlock key to start a stopped manager)');
}

/** The spec fields the flags set (others stay as they are, as the docker CLI's merge does). */
function applySpecFlags(spec: Record<string, unknown>, f: SpecFlags): Record<string, unknown> {
  const out = { ...spec };
  const sec = (k: string) => asRecord(out[k]);
  const limit = intFlag(f.taskHistoryLimit, '--task-history-limit');
  if (limit !== undefined) out['Orchestration'] = { ...sec('Orchestration'), TaskHistoryRetentionLimit: limit };
  const hb = durationFlag(f.dispatcherHeartbeat, '--dispatcher-heartbeat');
  if (hb !== undefined) out['Dispatcher'] = { ...sec('Dispatcher'), HeartbeatPeriod: hb };
  const exp = durationFlag(f.certExpiry, '--cert-expiry');
  if (exp !== undefined) out['CAConfig'] = { ...sec('CAConfig'), NodeCertExpiry: exp };
  const snap = intFlag(f.snapshotInterval, '--snapshot-interval');
  if (snap !== undefined) out['Raft'] = { ...sec('Raft'), SnapshotInterval: snap };
  const keep = intFlag(f.maxSnapshots, '--max-snapshots');
  if (keep !== undefined) out['Raft'] = { ...sec('Raft'), KeepOldSnapshots: keep };
  if (f.autolock !== undefined) out['EncryptionConfig'] = { ...sec('EncryptionConfig'), AutoLockManagers: f.autolock };
  return out;
}

async function managerAddr(c: ApiClient): Promise<string> {
  const info = asRecord(await c.json('GET', '/info'));
  const id = s(asRecord(info['Swarm'])['NodeID']);
  const node = asRecord(await c.json('GET', `/nodes/${id}`));
  return s(asRecord(node['ManagerStatus'])['Addr']);
}

async function printJoinCommand(c: ApiClient, role: 'worker' | 'manager', out: NodeJS.WritableStream): Promise<void> {
  const sw = asRecord(await c.json('GET', '/swarm'));
  const token = s(asRecord(sw['JoinTokens'])[role === 'worker' ? 'Worker' : 'Manager']);
  const addr = await managerAddr(c);
  out.write(`To add a ${role} to this swarm, run the following command:\n\n    shoal swarm join --token ${token} ${addr}\n\n`);
}

export function registerSwarmCommands(program: Command, client: ClientOf): void {
  const swarm = program.command('swarm').description('Manage Swarm');

  addSpecFlags(
    swarm
      .command('init')
      .description('Initialize a swarm')
      .option('--advertise-addr <addr>', 'Advertised address (format: "<ip|interface>[:port]")')
      .option('--listen-addr <addr>', 'Listen address (format: "<ip|interface>[:port]")', '0.0.0.0:2377')
      .option('--force-new-cluster', 'Force create a new cluster from current state')
      .option('--availability <a>', 'Availability of the node ("active", "pause", "drain")', 'active')
      .option('--default-addr-pool <cidr>', 'default address pool in CIDR format', (v: string, p: string[] = []) => [...p, v])
      .option('--default-addr-pool-mask-length <n>', 'default address pool subnet mask length', '24')
      .option('--data-path-port <port>', 'Port number to use for data path traffic (1024 - 49151)'),
  ).action(async (f: SpecFlags & Record<string, unknown>) => {
    const c = client();
    const body = {
      ListenAddr: s(f['listenAddr']),
      AdvertiseAddr: s(f['advertiseAddr']),
      DataPathAddr: '',
      DataPathPort: intFlag(f['dataPathPort'] as string | undefined, '--data-path-port') ?? 0,
      ForceNewCluster: f['forceNewCluster'] === true,
      Spec: applySpecFlags({ Labels: null, Orchestration: {}, Raft: { ElectionTick: 0, HeartbeatTick: 0 }, Dispatcher: {}, CAConfig: {}, TaskDefaults: {}, EncryptionConfig: { AutoLockManagers: false } }, f),
      AutoLockManagers: f.autolock === true,
      Availability: s(f['availability']),
      DefaultAddrPool: (f['defaultAddrPool'] as string[] | undefined) ?? [],
      SubnetSize: intFlag(f['defaultAddrPoolMaskLength'] as string | undefined, '--default-addr-pool-mask-length') ?? 24,
    };
    const nodeId = await c.json<string>('POST', '/swarm/init', { body });
    process.stdout.write(`Swarm initialized: current node (${nodeId}) is now a manager.\n\n`);
    await printJoinCommand(c, 'worker', process.stdout);
    process.stdout.write("To add a manager to this swarm, run 'shoal swarm join-token manager' and follow the instructions.\n\n");
  });

  swarm
    .command('join')
    .description('Join a swarm as a node and/or manager')
    .argument('<host:port>')
    .requiredOption('--token <token>', 'Token for entry into the swarm')
    .option('--advertise-addr <addr>', 'Advertised address (format: "<ip|interface>[:port]")')
    .option('--listen-addr <addr>', 'Listen address (format: "<ip|interface>[:port]")', '0.0.0.0:2377')
    .option('--availability <a>', 'Availability of the node ("active", "pause", "drain")', 'active')
    .action(async (remote: string, f: { token: string; advertiseAddr?: string; listenAddr: string; availability: string }) => {
      const c = client();
      await c.json('POST', '/swarm/join', {
        body: { ListenAddr: f.listenAddr, AdvertiseAddr: f.advertiseAddr ?? '', DataPathAddr: '', RemoteAddrs: [remote], JoinToken: f.token, Availability: f.availability },
      });
      const info = asRecord(await c.json('GET', '/info'));
      const manager = asRecord(info['Swarm'])['ControlAvailable'] === true;
      process.stdout.write(`This node joined a swarm as a ${manager ? 'manager' : 'worker'}.\n`);
    });

  swarm
    .command('join-token')
    .description('Manage join tokens')
    .argument('<role>', 'worker or manager')
    .option('--rotate', 'Rotate join token')
    .option('-q, --quiet', 'Only display token')
    .action(async (role: string, f: { rotate?: boolean; quiet?: boolean }) => {
      if (role !== 'worker' && role !== 'manager') throw new FlagError(`unknown role ${role}`);
      const c = client();
      if (f.rotate) {
        const sw = asRecord(await c.json('GET', '/swarm'));
        await c.json('POST', '/swarm/update', {
          query: {
            version: n(asRecord(sw['Version'])['Index']),
            rotateWorkerToken: role === 'worker' ? 'true' : 'false',
            rotateManagerToken: role === 'manager' ? 'true' : 'false',
            rotateManagerUnlockKey: 'false',
          },
          body: sw['Spec'],
        });
        if (!f.quiet) process.stdout.write(`Successfully rotated ${role} join token.\n\n`);
      }
      if (f.quiet) {
        const sw = asRecord(await c.json('GET', '/swarm'));
        process.stdout.write(`${s(asRecord(sw['JoinTokens'])[role === 'worker' ? 'Worker' : 'Manager'])}\n`);
        return;
      }
      await printJoinCommand(c, role, process.stdout);
    });

  swarm
    .command('leave')
    .description('Leave the swarm')
    .option('-f, --force', 'Force this node to leave the swarm, ignoring warnings')
    .action(async (f: { force?: boolean }) => {
      await client().call('POST', '/swarm/leave', { query: { force: f.force ? '1' : undefined } });
      process.stdout.write('Node left the swarm.\n');
    });

  addSpecFlags(swarm.command('update').description('Update the swarm')).action(async (f: SpecFlags) => {
    const c = client();
    const sw = asRecord(await c.json('GET', '/swarm'));
    const spec = applySpecFlags(asRecord(sw['Spec']), f);
    await c.json('POST', '/swarm/update', {
      query: { version: n(asRecord(sw['Version'])['Index']), rotateWorkerToken: 'false', rotateManagerToken: 'false', rotateManagerUnlockKey: 'false' },
      body: spec,
    });
    process.stdout.write('Swarm updated.\n');
  });

  swarm
    .command('unlock')
    .description('Unlock swarm')
    .action(async () => {
      await client().call('POST', '/swarm/unlock', { body: { UnlockKey: '' } });
    });

  swarm
    .command('unlock-key')
    .description('Manage the unlock key')
    .option('-q, --quiet', 'Only display token')
    .option('--rotate', 'Rotate unlock key')
    .action(async (f: { quiet?: boolean; rotate?: boolean }) => {
      if (f.rotate) throw new FlagError('autolock is not supported by shoal: there is no unlock key to rotate');
      const key = s(asRecord(await client().json('GET', '/swarm/unlockkey'))['UnlockKey']);
      if (key === '') throw new FlagError('no unlock key is set');
      process.stdout.write(f.quiet ? `${key}\n` : `To unlock a swarm manager after it restarts, run the \`shoal swarm unlock\`\ncommand and provide the following key:\n\n    ${key}\n\n`);
    });

  void NS;
}
