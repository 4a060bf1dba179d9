// The shoal CLI manages the swarm like the docker CLI: swarm init/join/join-token (with --rotate)/
// update/leave and node ls/inspect/ps/promote/demote/update/rm, with docker's columns and messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../../e2e/engine/shoald-harness.js';
import { SwarmLab, type SwarmHost, until } from './swarm-lab.js';

let SHOAL = '';

async function shoal(h: SwarmHost, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, [SHOAL, ...args], { env: h.env, timeoutMs: 60_000 });
}

async function shoalOk(h: SwarmHost, args: string[]): Promise<string> {
  const r = await shoal(h, args);
  if (r.code !== 0) throw new Error(`shoal ${args.join(' ')} on ${h.name}: ${r.code} ${r.stderr}`);
  return r.stdout;
}

test('shoal swarm and node commands: init, join, join-token, update, ls, inspect, ps, promote, demote (the leader too), update, rm, leave', async () => {
  const lab = await SwarmLab.start(['m1', 'm2', 'w1']);
  SHOAL = lab.shoalCli;
  try {
    const [m1, m2, w1] = [lab.host('m1'), lab.host('m2'), lab.host('w1')];
    const init = await shoalOk(m1, ['swarm', 'init', '--advertise-addr', m1.ip, '--task-history-limit', '3']);
    assert.match(init, /^Swarm initialized: current node \([0-9a-z]{25}\) is now a manager\.\n\nTo add a worker to this swarm, run the following command:\n\n {4}shoal swarm join --token SWMTKN-1-\S+ /);
    assert.ok(init.includes(` ${m1.addr}\n`), 'the join command names the manager address');
    const workerCmd = /shoal swarm join --token (\S+) (\S+)/.exec(init)!;
    const managerToken = (await shoalOk(m1, ['swarm', 'join-token', '-q', 'manager'])).trim();
    assert.match(await shoalOk(m2, ['swarm', 'join', '--token', managerToken, m1.addr]), /^This node joined a swarm as a manager\.\n$/);
    assert.match(await shoalOk(w1, ['swarm', 'join', '--token', workerCmd[1]!, workerCmd[2]!]), /^This node joined a swarm as a worker\.\n$/);

    const ls = await until('three ready nodes', async () => {
      const out = await shoalOk(m2, ['node', 'ls']);
      return (out.match(/Ready/g) ?? []).length === 3 && /Reachable/.test(out) ? out : undefined;
    });
    const lines = ls.trim().split('\n');
    assert.match(lines[0]!, /^ID {28}HOSTNAME {3}STATUS {4}AVAILABILITY {3}MANAGER STATUS {3}ENGINE VERSION$/);
    assert.match(lines[1]!, /^[0-9a-z]{25} {5}m1 +Ready +Active +Leader +\S+$/);
    assert.match(lines[2]!, /^[0-9a-z]{25} \* {3}m2 +Ready +Active +Reachable +\S+$/);
    assert.match(lines[3]!, /^[0-9a-z]{25} {5}w1 +Ready +Active {3,}\S+$/);
    assert.equal((await shoalOk(m1, ['node', 'ls', '-q', '-f', 'role=manager'])).trim().split('\n').length, 2);

    const inspect = JSON.parse(await shoalOk(m1, ['node', 'inspect', 'self'])) as { Spec: { Role: string }; ManagerStatus: { Leader: boolean } }[];
    assert.equal(inspect[0]!.Spec.Role, 'manager');
    assert.equal(inspect[0]!.ManagerStatus.Leader, true);
    assert.match(await shoalOk(m1, ['node', 'inspect', '--pretty', 'w1']), /Hostname:\t\tw1\n/);
    assert.match(await shoalOk(m1, ['node', 'ps', 'w1']), /^ID +NAME +IMAGE +NODE +DESIRED STATE +CURRENT STATE +ERROR +PORTS\n$/);

    assert.equal(await shoalOk(m1, ['node', 'update', '--availability', 'pause', '--label-add', 'zone=a', 'w1']), 'w1\n');
    const w = JSON.parse(await shoalOk(m2, ['node', 'inspect', 'w1'])) as { Spec: { Availability: string; Labels: Record<string, string> } }[];
    assert.deepEqual([w[0]!.Spec.Availability, w[0]!.Spec.Labels], ['pause', { zone: 'a' }]);
    const bad = await shoal(m1, ['node', 'update', '--label-rm', 'nope', 'w1']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /key nope doesn't exist in node's labels/);

    assert.equal(await shoalOk(m1, ['node', 'promote', 'w1']), 'Node w1 promoted to a manager in the swarm.\n');
    assert.equal(await shoalOk(m1, ['node', 'promote', 'w1']), 'Node w1 is already a manager.\n');
    await until('w1 reachable', async () => / w1 .*Reachable/.test(await shoalOk(m1, ['node', 'ls'])));
    assert.equal(await shoalOk(m1, ['node', 'demote', 'w1']), 'Manager w1 demoted in the swarm.\n');
    await until('w1 a worker again', async () => (await shoal(w1, ['node', 'ls'])).code === 1);

    const rotated = await shoalOk(m1, ['swarm', 'join-token', '--rotate', 'worker']);
    assert.match(rotated, /^Successfully rotated worker join token\.\n\nTo add a worker to this swarm, run the following command:\n\n {4}shoal swarm join --token SWMTKN-1-\S+ \S+\n\n$/);
    assert.ok(!rotated.includes(workerCmd[1]!), 'a new token');
    assert.equal(await shoalOk(m1, ['swarm', 'update', '--dispatcher-heartbeat', '10s']), 'Swarm updated.\n');
    const sw = JSON.parse((await m1.api('GET', '/swarm')).text) as { Spec: { Dispatcher: { HeartbeatPeriod: number }; Orchestration: { TaskHistoryRetentionLimit: number } } };
    assert.deepEqual([sw.Spec.Dispatcher.HeartbeatPeriod, sw.Spec.Orchestration.TaskHistoryRetentionLimit], [10e9, 3]);

    const refused = await shoal(m2, ['swarm', 'leave']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /You are attempting to leave the swarm on a node that is participating as a manager/);
    assert.equal(await shoalOk(w1, ['swarm', 'leave']), 'Node left the swarm.\n');
    await until('w1 down', async () => / w1 +Down/.test(await shoalOk(m1, ['node', 'ls'])), 30_000, 300);
    assert.equal(await shoalOk(m1, ['node', 'rm', 'w1']), 'w1\n');
    assert.doesNotMatch(await shoalOk(m1, ['node', 'ls']), / w1 /);

    // demoting the leader: it hands leadership over first, then the new leader demotes it
    assert.equal(await shoalOk(m2, ['node', 'demote', 'm1']), 'Manager m1 demoted in the swarm.\n');
    await until('m2 leads and m1 is a worker', async () => {
      const out = await shoalOk(m2, ['node', 'ls']);
      return / m2 +Ready +Active +Leader/.test(out) && /^\S+ +m1 +Ready +Active +\S+$/m.test(out);
    });
    await until('m1 refuses control calls', async () => /not a swarm manager/.test((await shoal(m1, ['node', 'ls'])).stderr));
  } catch (e) {
    console.log(lab.logs());
    throw e;
  } finally {
    assert.deepEqual(await lab.cleanup(), [], 'nothing left behind');
  }
});
