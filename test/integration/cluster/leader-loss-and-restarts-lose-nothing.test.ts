// SIGKILL of the leader: another manager leads, `docker node ls` through a surviving manager works and
// shows the old leader Unreachable; writes go on; the old leader restarted rejoins as a follower and
// the cluster is whole again. Then every node is stopped and started again: each resumes its role,
// every object is intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterState, writeObjects } from './cluster-state.js';
import { SwarmLab, until } from './swarm-lab.js';

test('leader SIGKILLed → new leader, old one unreachable, restart rejoins as follower; all managers restarted → nothing lost', async () => {
  const lab = await SwarmLab.start(['m1', 'm2', 'm3', 'w1']);
  try {
    await lab.form('m1', ['m2', 'm3'], ['w1']);
    const managers = [lab.host('m1'), lab.host('m2'), lab.host('m3')];
    const rows0 = await until('two reachable managers and a leader', async () => {
      const r = await managers[0]!.nodeLs();
      return r.filter((x) => x.manager === 'Reachable').length === 2 && r.some((x) => x.manager === 'Leader') ? r : undefined;
    });
    const old = lab.host(rows0.find((x) => x.manager === 'Leader')!.hostname);
    const [a, b] = managers.filter((h) => h !== old) as [typeof old, typeof old];
    await writeObjects(old, 'before');
    const before = await clusterState(a);

    const killedAt = Date.now();
    await old.stop('SIGKILL');
    const leader = await until('a new leader seen through a survivor', async () => (await a.nodeLs()).find((r) => r.manager === 'Leader' && r.hostname !== old.name), 30_000, 50);
    const failoverMs = Date.now() - killedAt;
    assert.ok([a.name, b.name].includes(leader.hostname));
    await until('the old leader shown unreachable', async () => (await b.nodeLs()).find((r) => r.hostname === old.name)?.manager === 'Unreachable');
    await b.dockerOk(['node', 'update', '--label-add', 'during=outage', 'w1']);

    await old.start();
    await until('the old leader back as a reachable follower', async () => {
      const rows = await a.nodeLs();
      return rows.find((r) => r.hostname === old.name)?.manager === 'Reachable' && rows.filter((r) => r.manager === 'Leader').length === 1;
    });
    // its own store caught up with what was written while it was down
    const oldLabels = await until('the old leader to have the write made during its outage', async () => {
      const info = await old.api<{ Swarm: { ControlAvailable: boolean } }>('GET', '/info');
      if (!info.json.Swarm.ControlAvailable) return undefined;
      const w = (await old.api<{ Spec: { Labels: Record<string, string> } }>('GET', '/nodes/w1')).json;
      return w.Spec.Labels.during === 'outage' ? w.Spec.Labels : undefined;
    });
    assert.equal(oldLabels.before, 'w1');
    const afterRejoin = await clusterState(old);
    assert.deepEqual(afterRejoin.services, before.services);
    assert.deepEqual(afterRejoin.swarm.Spec, before.swarm.Spec);

    // every node stopped (SIGTERM), then started again: each resumes its role from its data root
    const everyone = [...managers, lab.host('w1')];
    await Promise.all(everyone.map((h) => h.stop('SIGTERM')));
    await Promise.all(everyone.map((h) => h.start()));
    const m3 = managers[2]!;
    const restarted = await until('a leader and every node ready after the full restart', async () => {
      const rows = await m3.nodeLs();
      return rows.filter((r) => r.manager === 'Leader').length === 1 && rows.every((r) => r.status === 'Ready') ? rows : undefined;
    }, 60_000);
    assert.equal((await lab.host('w1').dockerOk(['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'])).trim(), 'active false');
    assert.equal(restarted.length, 4);
    const after = await clusterState(m3);
    assert.deepEqual(after.services, before.services, 'services intact');
    assert.deepEqual(after.swarm.Spec, before.swarm.Spec, 'swarm spec intact');
    assert.deepEqual(after.nodes.map((n) => n.ID), before.nodes.map((n) => n.ID), 'nodes intact');
    assert.equal((await m3.api<{ Spec: { Labels: Record<string, string> } }>('GET', '/nodes/w1')).json.Spec.Labels.during, 'outage');
    const firstAfterKill = (re: RegExp): number => Math.min(...[a, b].flatMap((h) => h.log(Infinity).split('\n'))
      .map((l) => re.exec(l)).filter((m) => m !== null).map((m) => Number(m[1])).filter((t) => t > killedAt && t < killedAt + failoverMs + 1000)) - killedAt;
    console.log(`# failover after SIGKILL of the leader: raft leader after ${firstAfterKill(/"time":(\d+).*raft leadership acquired/)} ms, ` +
      `leader loops running after ${firstAfterKill(/"time":(\d+).*became the leader/)} ms, visible through docker node ls after ${failoverMs} ms`);
  } catch (e) {
    console.log(lab.logs());
    throw e;
  } finally {
    assert.deepEqual(await lab.cleanup(), [], 'nothing left behind');
  }
});
