// Two of three managers SIGKILLed: writes (and reads) through the survivor fail with Docker's "does
// not have a leader" message and change nothing; `docker swarm init --force-new-cluster` on the
// survivor gives a single-manager cluster that keeps every committed object and takes writes again;
// an old manager restarted with its old Raft log is refused by the new cluster and cannot disturb it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterState, writeObjects } from './cluster-state.js';
import { SwarmLab, until } from './swarm-lab.js';

test('quorum loss: writes refused saying so; --force-new-cluster on the survivor restores every object', async () => {
  const lab = await SwarmLab.start(['m1', 'm2', 'm3', 'w1']);
  try {
    await lab.form('m1', ['m2', 'm3'], ['w1']);
    const [m1, m2, m3] = [lab.host('m1'), lab.host('m2'), lab.host('m3')];
    await until('all managers reachable', async () => (await m1.nodeLs()).filter((r) => r.manager === 'Reachable').length === 2);
    await writeObjects(m2, 'kept');
    const before = await clusterState(m3);

    await Promise.all([m1.stop('SIGKILL'), m2.stop('SIGKILL')]);
    const refused = await until('writes through the survivor to be refused', async () => {
      const r = await m3.docker(['node', 'update', '--label-add', 'lost=yes', 'w1']);
      return r.code !== 0 ? r : undefined;
    });
    assert.match(refused.stderr, /The swarm does not have a leader\. It's possible that too few managers are online\. Make sure more than half of the managers are online\./);
    const api = await m3.api('POST', `/services/create`, { Name: 'never', TaskTemplate: { ContainerSpec: { Image: 'busybox' } } });
    assert.equal(api.status, 503);
    assert.match((api.json as { message: string }).message, /does not have a leader/);

    const init = await m3.docker(['swarm', 'init', '--force-new-cluster', '--advertise-addr', m3.ip]);
    assert.equal(init.code, 0, init.stderr);
    const rows = await until('the survivor to lead with the old managers unreachable', async () => {
      const r = await m3.nodeLs();
      return r.find((x) => x.hostname === 'm3')?.manager === 'Leader' && r.filter((x) => x.manager === 'Unreachable').length === 2 ? r : undefined;
    });
    assert.equal(rows.length, 4, 'every node is still listed');
    const after = await clusterState(m3);
    assert.deepEqual(after.services, before.services, 'services intact with their versions');
    assert.deepEqual(after.swarm.Spec, before.swarm.Spec, 'swarm spec intact');
    assert.deepEqual(after.nodes.map((n) => n.ID), before.nodes.map((n) => n.ID));
    const w1 = (await m3.api<{ Spec: { Labels: Record<string, string> } }>('GET', '/nodes/w1')).json;
    assert.equal(w1.Spec.Labels.kept, 'w1');
    assert.equal(w1.Spec.Labels.lost, undefined, 'the refused write did not happen');
    // writes work again; an old manager restarted with its old Raft log cannot disturb the new cluster
    await m3.dockerOk(['node', 'update', '--label-add', 'after=recovery', 'w1']);
    await m1.start();
    await new Promise((r) => setTimeout(r, 3000));
    const still = await m3.nodeLs();
    assert.equal(still.find((x) => x.hostname === 'm3')?.manager, 'Leader', 'the survivor still leads');
    assert.equal(still.find((x) => x.hostname === 'm1')?.manager, 'Unreachable');
    await m3.dockerOk(['node', 'update', '--label-add', 'still=writable', 'w1']);
    assert.match((await m1.docker(['node', 'ls'])).stderr, /does not have a leader/, 'the old manager alone has no quorum');
    await m1.stop('SIGKILL');
    // the dead managers can be demoted and removed
    await m3.dockerOk(['node', 'demote', 'm1', 'm2']);
    await until('m1 and m2 demoted', async () => (await m3.nodeLs()).filter((r) => r.manager !== '').length === 1);
    await m3.dockerOk(['node', 'rm', '--force', 'm1', 'm2']);
    assert.deepEqual((await m3.nodeLs()).map((r) => r.hostname).sort(), ['m3', 'w1']);
  } catch (e) {
    console.log(lab.logs());
    throw e;
  } finally {
    assert.deepEqual(await lab.cleanup(), [], 'nothing left behind');
  }
});
