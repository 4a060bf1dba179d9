/**
 * Services through manager and worker failures on a real swarm (shoald processes on loopback, formed
 * with the docker CLI, simulated executors):
 * - the leader is SIGKILLed in the middle of a rolling update: the update finishes under the new
 *   leader, and no slot ever has two tasks running that are both meant to run (stop-first);
 * - a worker is SIGKILLed: its node goes down for a heartbeat failure and its tasks run elsewhere;
 *   the time it took is printed against the "3 heartbeat periods + 1 s" budget (tests assert no
 *   wall-clock times).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SwarmLab, until, type SwarmHost } from '../cluster/swarm-lab.js';

interface ApiTask {
  ID: string;
  Slot: number;
  NodeID: string;
  DesiredState: string;
  Status: { State: string };
  Spec: { ContainerSpec: { Image: string } };
}

async function tasksOf(h: SwarmHost, service: string): Promise<ApiTask[] | undefined> {
  const r = await h.api<ApiTask[]>('GET', `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [service] }))}`);
  return r.status === 200 ? r.json : undefined;
}

async function leaderOf(hosts: SwarmHost[]): Promise<string | undefined> {
  for (const h of hosts) {
    if (!h.running) continue;
    const r = await h.api<{ ManagerStatus?: { Leader?: boolean }; Description: { Hostname: string }; Status: { State: string } }[]>('GET', '/nodes').catch(() => undefined);
    const l = r?.status === 200 ? r.json.find((n) => n.ManagerStatus?.Leader) : undefined;
    if (l) return l.Description.Hostname;
  }
  return undefined;
}

/** Slots with two tasks that both run and are both meant to. */
function doubled(tasks: ApiTask[]): number[] {
  const per = new Map<number, number>();
  for (const t of tasks) if (t.Status.State === 'running' && t.DesiredState === 'running') per.set(t.Slot, (per.get(t.Slot) ?? 0) + 1);
  return [...per].filter(([, n]) => n > 1).map(([s]) => s);
}

test('leader killed mid-update: the new leader finishes it, no slot doubled; a killed worker\'s tasks run elsewhere', async () => {
  const lab = await SwarmLab.start(['m1', 'm2', 'm3', 'w1', 'w2', 'w3']);
  try {
    await lab.form('m1', ['m2', 'm3'], ['w1', 'w2', 'w3']);
    const [m1, m2, m3] = [lab.host('m1'), lab.host('m2'), lab.host('m3')];
    await m1.dockerOk(['swarm', 'update', '--dispatcher-heartbeat', '1s']);
    const periodS = 1;

    // ---- leader killed mid-update
    const svc = (await m1.dockerOk(['service', 'create', '--detach', '--no-resolve-image', '--name', 'roll', '--replicas', '6',
      '--update-parallelism', '1', '--update-delay', '1s', '--update-order', 'stop-first', '--update-monitor', '200ms',
      'busybox:1.36', 'sleep', '1d'])).trim();
    await until('6 running', async () => (await tasksOf(m1, svc))?.filter((t) => t.Status.State === 'running').length === 6, 60_000);
    await m2.dockerOk(['service', 'update', '--detach', '--no-resolve-image', '--image', 'busybox:1.37', 'roll']);
    await until('the update under way (2 updated)', async () => (await tasksOf(m2, svc))?.filter((t) => t.Status.State === 'running' && t.Spec.ContainerSpec.Image === 'busybox:1.37').length === 2 || undefined, 60_000);
    assert.equal(await leaderOf([m1]), 'm1');
    await m1.stop('SIGKILL');
    const seenDoubled = new Set<number>();
    const done = await until('the update completed under a new leader', async () => {
      for (const h of [m2, m3]) {
        const ts = await tasksOf(h, svc).catch(() => undefined);
        if (!ts) continue;
        for (const s of doubled(ts)) seenDoubled.add(s);
        const s = await h.api<{ UpdateStatus?: { State: string } }>('GET', `/services/${svc}`);
        const running = ts.filter((t) => t.Status.State === 'running' && t.DesiredState === 'running');
        if (s.json.UpdateStatus?.State === 'completed' && running.length === 6 && running.every((t) => t.Spec.ContainerSpec.Image === 'busybox:1.37')) return ts;
      }
      return undefined;
    }, 120_000, 50);
    assert.deepEqual([...seenDoubled], [], 'no slot had two running tasks');
    const running = done.filter((t) => t.Status.State === 'running' && t.DesiredState === 'running');
    assert.deepEqual(running.map((t) => t.Slot).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6]);
    const newLeader = await leaderOf([m2, m3]);
    assert.ok(newLeader === 'm2' || newLeader === 'm3');
    const lead = newLeader === 'm2' ? m2 : m3;
    await m1.start(); // the old leader rejoins as a follower
    await until('m1 back and following', async () => (await m1.docker(['node', 'ls'])).code === 0 || undefined, 60_000);

    // ---- a worker killed: its tasks run elsewhere
    const spread = (await lead.dockerOk(['service', 'create', '--detach', '--no-resolve-image', '--name', 'spread', '--replicas', '6',
      '--constraint', 'node.role==worker', 'busybox:1.36', 'sleep', '1d'])).trim();
    const nodes = (await lead.api<{ ID: string; Description: { Hostname: string } }[]>('GET', '/nodes')).json;
    const w1 = nodes.find((n) => n.Description.Hostname === 'w1')!.ID;
    await until('6 running, some on w1', async () => {
      const ts = (await tasksOf(lead, spread)) ?? [];
      const r = ts.filter((t) => t.Status.State === 'running');
      return r.length === 6 && r.some((t) => t.NodeID === w1) ? true : undefined;
    }, 60_000);
    const onW1 = ((await tasksOf(lead, spread)) ?? []).filter((t) => t.NodeID === w1 && t.Status.State === 'running').map((t) => t.Slot);
    const killedAt = Date.now();
    await lab.host('w1').stop('SIGKILL');
    await until('w1 down and its tasks running elsewhere', async () => {
      const ts = (await tasksOf(lead, spread)) ?? [];
      const r = ts.filter((t) => t.Status.State === 'running' && t.DesiredState === 'running');
      return r.length === 6 && r.every((t) => t.NodeID !== w1) ? true : undefined;
    }, 60_000, 50);
    const tookS = (Date.now() - killedAt) / 1000;
    const node = (await lead.api<{ Status: { State: string; Message?: string } }>('GET', `/nodes/${w1}`)).json;
    assert.equal(node.Status.State, 'down');
    assert.match(node.Status.Message ?? '', /heartbeat/);
    const after = (await tasksOf(lead, spread)) ?? [];
    assert.deepEqual(doubled(after), []);
    for (const slot of onW1) assert.ok(after.some((t) => t.Slot === slot && t.NodeID !== w1 && t.Status.State === 'running'), `slot ${slot} runs elsewhere`);
    console.log(`# killed worker: ${onW1.length} tasks running elsewhere ${tookS.toFixed(1)} s after SIGKILL (budget 3 × ${periodS} s + 1 s = ${3 * periodS + 1} s, polled every 50 ms)`);
  } catch (e) {
    console.log(lab.logs());
    throw e;
  } finally {
    const left = await lab.cleanup();
    assert.deepEqual(left, []);
  }
});
