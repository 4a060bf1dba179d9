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
  /** `--autolock`, `--autolock=true|false` (commander gives true or the text) */
  autolock?: boolean | string;
}

/** The docker CLI's bool flag: --autolock, --autolock=true|false (strconv.ParseBool). */
function boolFlag(v: boolean | string | undefined, flag: string): boolean | undefined {
  if (v === undefined || typeof v === 'boolean') return v;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  throw new FlagError(`invalid argument "${v}" for "${flag}" flag: strconv.ParseBool: parsing "${v}": invalid syntax`);
}

function addSpecFlags(c: Command): Command {
  return c
    .option('--task-history-limit <n>', 'Task history retention limit')
    .option('--dispatcher-heartbeat <d>', 'Dispatcher heartbeat period (ns|us|ms|s|m|h)')
    .option('--cert-expiry <d>', 'Validity period for node certificates (ns|us|ms|s|m|h)')
    .option('--snapshot-interval <n>', 'Number of log entries between Raft snapshots')
    .option('--max-snapshots <n>', 'Number of additional Raft snapshots to retain')
    .option('--autolock [bool]', 'Enable manager autolocking (requiring an unlock key to start a stopped manager)');
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
  const autolock = boolFlag(f.autolock, '--autolock');
  if (autolock !== undefined) out['EncryptionConfig'] = { ...sec('EncryptionConfig'), AutoLockManagers: autolock };
  return out;
}

/** The docker CLI's printUnlockCommand, with `shoal`. */
function printUnlockCommand(key: string, out: NodeJS.WritableStream): void {
  if (key === '') return;
  out.write(
    `To unlock a swarm manager after it restarts, run the \`shoal swarm unlock\`\ncommand and provide the following key:\n\n    ${key}\n\n` +
      'Remember to store this key in a password manager, since without it you\nwill not be able to restart the manager.\n',
  );
}

async function unlockKeyOf(c: ApiClient): Promise<string> {
  try {
    return s(asRecord(await c.json('GET', '/swarm/unlockkey'))['UnlockKey']);
  } catch (e) {
    (e as Error).message = `could not fetch unlock key: ${(e as Error).message}`;
    throw e;
  }
}

/** One line of stdin (the unlock key), prompting on a terminal as the docker CLI does. */
async function readKey(prompt: string): Promise<string> {
  const input = process.stdin;
  if (input.isTTY) process.stdout.write(prompt);
  let text = '';
  for await (const chunk of input) {
    text += (chunk as Buffer).toString('utf8');
    if (text.includes('\n')) break;
  }
  if (input.isTTY) process.stdout.write('\n');
  input.pause();
  return (text.split('\n')[0] ?? '').trim();
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
      AutoLockManagers: boolFlag(f.autolock, '--autolock') === true,
      Availability: s(f['availability']),
      DefaultAddrPool: (f['defaultAddrPool'] as string[] | undefined) ?? [],
      SubnetSize: intFlag(f['defaultAddrPoolMaskLength'] as string | undefined, '--default-addr-pool-mask-length') ?? 24,
    };
    const nodeId = await c.json<string>('POST', '/swarm/init', { body });
    process.stdout.write(`Swarm initialized: current node (${nodeId}) is now a manager.\n\n`);
    await printJoinCommand(c, 'worker', process.stdout);
    process.stdout.write("To add a manager to this swarm, run 'shoal swarm join-token manager' and follow the instructions.\n\n");
    if (body.AutoLockManagers) printUnlockCommand(await unlockKeyOf(c), process.stdout);
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
    const autolockOf = (spec: Record<string, unknown>): boolean => asRecord(spec['EncryptionConfig'])['AutoLockManagers'] === true;
    const before = autolockOf(asRecord(sw['Spec']));
    const spec = applySpecFlags(asRecord(sw['Spec']), f);
    await c.json('POST', '/swarm/update', {
      query: { version: n(asRecord(sw['Version'])['Index']), rotateWorkerToken: 'false', rotateManagerToken: 'false', rotateManagerUnlockKey: 'false' },
      body: spec,
    });
    process.stdout.write('Swarm updated.\n');
    if (autolockOf(spec) && !before) printUnlockCommand(await unlockKeyOf(c), process.stdout);
  });

  swarm
    .command('unlock')
    .description('Unlock swarm')
    .action(async () => {
      const c = client();
      // as the docker CLI: ask for the key only when this node is locked
      const state = s(asRecord(asRecord(await c.json('GET', '/info'))['Swarm'])['LocalNodeState']);
      if (state === 'inactive' || state === '') throw new FlagError('Error: This node is not part of a swarm');
      if (state !== 'locked') throw new FlagError('Error: swarm is not locked');
      const key = await readKey('Enter unlock key: ');
      await c.call('POST', '/swarm/unlock', { body: { UnlockKey: key } });
    });

  swarm
    .command('unlock-key')
    .description('Manage the unlock key')
    .option('-q, --quiet', 'Only display token')
    .option('--rotate', 'Rotate unlock key')
    .action(async (f: { quiet?: boolean; rotate?: boolean }) => {
      const c = client();
      if (f.rotate) {
        const sw = asRecord(await c.json('GET', '/swarm'));
        if (asRecord(asRecord(sw['Spec'])['EncryptionConfig'])['AutoLockManagers'] !== true) throw new FlagError('cannot rotate because autolock is not turned on');
        await c.json('POST', '/swarm/update', {
          query: { version: n(asRecord(sw['Version'])['Index']), rotateWorkerToken: 'false', rotateManagerToken: 'false', rotateManagerUnlockKey: 'true' },
          body: sw['Spec'],
        });
        if (!f.quiet) process.stdout.write('Successfully rotated manager unlock key.\n');
      }
      const key = await unlockKeyOf(c);
      if (key === '') throw new FlagError('no unlock key is set');
      if (f.quiet) process.stdout.write(`${key}\n`);
      else printUnlockCommand(key, process.stdout);
    });

  void NS;
}
