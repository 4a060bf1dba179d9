// Five shoald processes on distinct loopback addresses with separate data roots form a swarm through
// the real docker CLI (two of them joining through a follower): `docker node ls` on every manager lists 5 Ready nodes with one Leader and two
// Reachable; a worker answers Docker's 503; promote, demote and drain work and show everywhere;
// dockerode's listNodes and swarmInspect work unversioned and versioned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { SwarmLab, until } from './swarm-lab.js';

test('docker CLI forms 3 managers + 2 workers; node ls everywhere; promote, demote, drain; dockerode', async () => {
  const lab = await SwarmLab.start(['m1', 'm2', 'm3', 'w1', 'w2']);
  try {
    const t0 = Date.now();
    // m3 and w2 join through a follower: their CA requests and Raft join are forwarded to the leader
    await lab.form('m1', ['m2', 'm3'], ['w1', 'w2'], { via: { m3: 'm2', w2: 'm2' } });
    const formedMs = Date.now() - t0;
    const m1 = lab.host('m1');
    const info = JSON.parse(await m1.dockerOk(['info', '--format', '{{json .Swarm}}'])) as Record<string, unknown>;
    assert.equal(info.LocalNodeState, 'active');
    assert.equal(info.ControlAvailable, true);
    assert.equal(info.NodeAddr, m1.ip);

    for (const name of ['m1', 'm2', 'm3']) {
      const rows = await until(`node ls on ${name} to show 5 ready nodes`, async () => {
        const r = await lab.host(name).nodeLs();
        return r.length === 5 && r.every((x) => x.status === 'Ready') && r.filter((x) => x.manager === 'Reachable').length === 2 ? r : undefined;
      });
      assert.deepEqual(rows.filter((r) => r.manager === 'Leader').map((r) => r.hostname), ['m1'], `one leader seen from ${name}`);
      assert.deepEqual(rows.filter((r) => r.self).map((r) => r.hostname), [name], `${name} marks itself`);
      assert.deepEqual(rows.filter((r) => r.manager === '').map((r) => r.hostname).sort(), ['w1', 'w2']);
    }
    const metric = (text: string, name: string): number => Number(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    const mx = await until('the leader to count 5 sessions', async () => {
      const t = await m1.metrics();
      return metric(t, 'shoal_dispatcher_sessions') === 5 ? t : undefined;
    });
    assert.equal(metric(mx, 'shoal_manager_is_leader'), 1);
    assert.equal(metric(mx, 'shoal_store_objects{table="nodes"}'), 5);
    assert.ok(metric(mx, 'shoal_raft_term') >= 1 && metric(mx, 'shoal_raft_commit_index') > 0);
    assert.match(mx, /^shoal_raft_proposal_duration_seconds_count \d+/m);
    assert.equal(metric(await lab.host('m2').metrics(), 'shoal_manager_is_leader'), 0);
    assert.doesNotMatch(await lab.host('w1').metrics(), /shoal_raft_term/, 'a worker has no raft metrics');

    const w1 = lab.host('w1');
    const refused = await w1.docker(['node', 'ls']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /This node is not a swarm manager\. Worker nodes can't be used to view or modify cluster state/);
    assert.match(await w1.dockerOk(['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}']), /active false/);

    // promote a worker, demote a manager, drain a worker — through a follower
    const m2 = lab.host('m2');
    await m2.dockerOk(['node', 'promote', 'w1']);
    await until('w1 to be a reachable manager', async () => (await m1.nodeLs()).find((r) => r.hostname === 'w1')?.manager === 'Reachable');
    await until('w1 to answer node ls itself', async () => (await w1.docker(['node', 'ls'])).code === 0);
    await m2.dockerOk(['node', 'demote', 'm3']);
    await until('m3 to be a worker everywhere', async () => (await m1.nodeLs()).find((r) => r.hostname === 'm3')?.manager === '' && (await w1.nodeLs()).find((r) => r.hostname === 'm3')?.manager === '');
    await until('m3 to refuse control calls', async () => /not a swarm manager/.test((await lab.host('m3').docker(['node', 'ls'])).stderr));
    await m1.dockerOk(['node', 'update', '--availability', 'drain', 'w2']);
    const rows = await m2.nodeLs();
    assert.equal(rows.find((r) => r.hostname === 'w2')?.availability, 'Drain');
    assert.deepEqual(rows.filter((r) => r.manager !== '').map((r) => r.hostname).sort(), ['m1', 'm2', 'w1']);

    // dockerode, unversioned and versioned
    for (const version of [undefined, 'v1.41']) {
      const d = new Docker({ socketPath: m2.socket, ...(version ? { version } : {}) });
      const nodes = (await d.listNodes()) as { Description: { Hostname: string }; Spec: { Role: string } }[];
      assert.equal(nodes.length, 5, `listNodes (${version ?? 'unversioned'})`);
      assert.deepEqual(nodes.filter((n) => n.Spec.Role === 'manager').map((n) => n.Description.Hostname).sort(), ['m1', 'm2', 'w1']);
      const sw = (await d.swarmInspect()) as { ID: string; JoinTokens: { Worker: string } };
      assert.equal(sw.ID, (info.Cluster as { ID: string }).ID);
      assert.match(sw.JoinTokens.Worker, /^SWMTKN-1-/);
      const listWith = d.listNodes.bind(d) as unknown as (o: object) => Promise<unknown[]>;
      const filtered = await listWith({ filters: { role: ['worker'] } });
      assert.equal(filtered.length, 2);
    }
    console.log(`# formed 3 managers + 2 workers through the docker CLI in ${formedMs} ms`);
  } catch (e) {
    console.log(lab.logs());
    throw e;
  } finally {
    const left = await lab.cleanup();
    assert.deepEqual(left, [], 'nothing left behind');
  }
});
