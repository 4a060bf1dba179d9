// SIGKILL of the leader: another manager leads, `docker node ls` through a surviving manager works and
// shows the old leader Unreachable; writes go on; the old leader restarted rejoins as a follower and
// the cluster is whole again. Then every manager is stopped and started again: every object is intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterState, writeObjects } from './cluster-state.js';
import { SwarmLab, until } from './swarm-lab.js';

test('leader SIGKILLed → new leader, old one unreachable, restart rejoins as follower; all managers restarted → nothing lost', async () => {
  const lab = await SwarmLab.start(['m1', 'm2', 'm3', 'w1']);
  try {
    await lab.form('m1', ['m2', 'm3'], ['w1']);
    const [m1, m2, m3] = [lab.host('m1'), lab.host('m2'), lab.host('m3')];
    await until('m2 and m3 reachable', async () => (await m1.nodeLs()).filter((r) => r.manager === 'Reachable').length === 2);
    await writeObjects(m1, 'before');
    const before = await clusterState(m2);

    const killedAt = Date.now();
    await m1.stop('SIGKILL');
    const leader = await until('a new leader seen through m2', async () => (await m2.nodeLs()).find((r) => r.manager === 'Leader' && r.hostname !== 'm1'), 30_000, 50);
    const failoverMs = Date.now() - killedAt;
    assert.ok(['m2', 'm3'].includes(leader.hostname));
    await until('m1 shown unreachable', async () => (await m3.nodeLs()).find((r) => r.hostname === 'm1')?.manager === 'Unreachable');
    await m3.dockerOk(['node', 'update', '--label-add', 'during=outage', 'w1']);

    await m1.start();
    await until('m1 back as a reachable follower', async () => {
      const rows = await m2.nodeLs();
      return rows.find((r) => r.hostname === 'm1')?.manager === 'Reachable' && rows.filter((r) => r.manager === 'Leader').length === 1;
    });
    // m1's own store caught up with what was written while it was down
    const m1Labels = await until('m1 to have the write made during its outage', async () => {
      const info = await m1.api<{ Swarm: { ControlAvailable: boolean } }>('GET', '/info');
      if (!info.json.Swarm.ControlAvailable) return undefined;
      const w = (await m1.api<{ Spec: { Labels: Record<string, string> } }>('GET', '/nodes/w1')).json;
      return w.Spec.Labels.during === 'outage' ? w.Spec.Labels : undefined;
    });
    assert.equal(m1Labels.before, 'w1');
    const afterRejoin = await clusterState(m1);
    assert.deepEqual(afterRejoin.services, before.services);
    assert.deepEqual(afterRejoin.swarm.Spec, before.swarm.Spec);

    // every manager stopped (SIGTERM), then started again
    await Promise.all([m1, m2, m3].map((h) => h.stop('SIGTERM')));
    await Promise.all([m1, m2, m3].map((h) => h.start()));
    const restarted = await until('a leader after the full restart', async () => {
      const rows = await m3.nodeLs();
      return rows.filter((r) => r.manager === 'Leader').length === 1 ? rows : undefined;
    }, 30_000);
    assert.equal(restarted.length, 4);
    const after = await clusterState(m3);
    assert.deepEqual(after.services, before.services, 'services intact');
    assert.deepEqual(after.swarm.Spec, before.swarm.Spec, 'swarm spec intact');
    assert.deepEqual(after.nodes.map((n) => n.ID), before.nodes.map((n) => n.ID), 'nodes intact');
    assert.equal((await m3.api<{ Spec: { Labels: Record<string, string> } }>('GET', '/nodes/w1')).json.Spec.Labels.during, 'outage');
    const elected = [m2, m3].flatMap((h) => h.log().split('\n')).map((l) => /"time":(\d+).*became the leader/.exec(l)).filter((m) => m !== null).map((m) => Number(m[1])).filter((t) => t > killedAt);
    console.log(`# failover after SIGKILL of the leader: elected after ${Math.min(...elected) - killedAt} ms, visible through docker node ls after ${failoverMs} ms`);
  } catch (e) {
    console.log(lab.logs());
    throw e;
  } finally {
    assert.deepEqual(await lab.cleanup(), [], 'nothing left behind');
  }
});
