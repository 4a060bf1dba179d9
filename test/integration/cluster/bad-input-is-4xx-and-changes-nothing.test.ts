// Bad input to the swarm and node endpoints gets a 4xx with a message naming the problem, and the
// cluster is exactly as it was: malformed join tokens and addresses, unknown nodes, stale versions,
// garbage JSON, bad roles and availabilities, demoting the last manager, removing a live node or a
// manager, init on an active node, control calls on a node in no swarm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterState } from './cluster-state.js';
import { SwarmLab, until } from './swarm-lab.js';

test('bad input → 4xx naming the problem; the cluster is unchanged', async () => {
  const lab = await SwarmLab.start(['m1', 'w1', 'x1']);
  try {
    await lab.form('m1', [], ['w1']);
    const [m1, x1] = [lab.host('m1'), lab.host('x1')];
    await until('both nodes ready', async () => (await m1.nodeLs()).every((n) => n.status === 'Ready'));
    const before = await clusterState(m1);
    const nodes = before.nodes as { ID: string; Version: { Index: number } }[];
    const self = (await m1.api<{ Swarm: { NodeID: string } }>('GET', '/info')).json.Swarm.NodeID;
    const worker = nodes.find((n) => n.ID !== self)!;
    const expect = async (status: number, re: RegExp, method: string, path: string, body?: unknown, on = m1) => {
      const r = await on.api<{ message: string }>(method, path, body);
      assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
      assert.match(r.json.message, re, `${method} ${path}`);
    };

    // joins and inits on a node in no swarm
    await expect(400, /invalid join token/, 'POST', '/swarm/join', { RemoteAddrs: [m1.addr], JoinToken: 'SWMTKN-1-nope' }, x1);
    await expect(400, /RemoteAddrs: at least 1 RemoteAddr is required to join/, 'POST', '/swarm/join', { RemoteAddrs: [], JoinToken: 'x' }, x1);
    await expect(400, /RemoteAddrs\[0\]: invalid port/, 'POST', '/swarm/join', { RemoteAddrs: ['1.2.3.4:0'], JoinToken: 'x' }, x1);
    await expect(400, /invalid JSON in request body/, 'POST', '/swarm/join', '{"RemoteAddrs":', x1);
    await expect(400, /ListenAddr: invalid port/, 'POST', '/swarm/init', { ListenAddr: '127.0.0.1:99999' }, x1);
    await expect(400, /Availability: invalid availability "sometimes"/, 'POST', '/swarm/init', { Availability: 'sometimes' }, x1);
    await expect(400, /NodeCertExpiry: minimum certificate expiry time is 1h0m0s/, 'POST', '/swarm/init', { Spec: { CAConfig: { NodeCertExpiry: 1e9 } } }, x1);
    await expect(503, /This node is not a swarm manager\. Use "docker swarm init" or "docker swarm join"/, 'GET', '/nodes', undefined, x1);
    await expect(503, /This node is not part of a swarm/, 'POST', '/swarm/leave', undefined, x1);
    assert.equal((await x1.api<{ Swarm: { LocalNodeState: string } }>('GET', '/info')).json.Swarm.LocalNodeState, 'inactive');

    // the cluster's endpoints
    await expect(503, /already part of a swarm/, 'POST', '/swarm/init', {});
    await expect(404, /node nosuchnode not found/, 'GET', '/nodes/nosuchnode');
    await expect(404, /node nosuchnode not found/, 'POST', '/nodes/nosuchnode/update?version=1', { Role: 'worker', Availability: 'active' });
    await expect(404, /node nosuchnode not found/, 'DELETE', '/nodes/nosuchnode');
    await expect(409, /update out of sequence/, 'POST', `/nodes/${worker.ID}/update?version=1`, { Role: 'worker', Availability: 'drain' });
    await expect(400, /invalid version/, 'POST', `/nodes/${worker.ID}/update`, { Role: 'worker', Availability: 'drain' });
    await expect(400, /invalid JSON in request body/, 'POST', `/nodes/${worker.ID}/update?version=${worker.Version.Index}`, '{"Role": worker');
    await expect(400, /Role: invalid role "boss"/, 'POST', `/nodes/${worker.ID}/update?version=${worker.Version.Index}`, { Role: 'boss', Availability: 'active' });
    await expect(400, /Availability: invalid availability "off"/, 'POST', `/nodes/${worker.ID}/update?version=${worker.Version.Index}`, { Role: 'worker', Availability: 'off' });
    await expect(400, /Labels: must be a map of strings/, 'POST', `/nodes/${worker.ID}/update?version=${worker.Version.Index}`, { Role: 'worker', Availability: 'active', Labels: { a: 1 } });
    const me = nodes.find((n) => n.ID === self)!;
    await expect(400, /attempting to demote the last manager of the swarm/, 'POST', `/nodes/${self}/update?version=${me.Version.Index}`, { Role: 'worker', Availability: 'active' });
    await expect(400, /is a cluster manager and is a member of the raft cluster\. It must be demoted to worker before removal/, 'DELETE', `/nodes/${self}?force=1`);
    await expect(400, /is not down and can't be removed/, 'DELETE', `/nodes/${worker.ID}`);
    await expect(409, /update out of sequence/, 'POST', '/swarm/update?version=1', {});
    await expect(400, /invalid version/, 'POST', '/swarm/update', {});
    await expect(400, /HeartbeatPeriod: heartbeat period must be positive/, 'POST', `/swarm/update?version=${before.swarm.Version.Index}`, { Dispatcher: { HeartbeatPeriod: -5 } });
    await expect(400, /rotateWorkerToken: invalid boolean "maybe"/, 'POST', `/swarm/update?version=${before.swarm.Version.Index}&rotateWorkerToken=maybe`, {});
    await expect(400, /filters: invalid JSON/, 'GET', '/nodes?filters=%7Bnope');
    await expect(400, /invalid filter 'color'/, 'GET', '/nodes?filters=%7B%22color%22%3A%5B%22red%22%5D%7D');
    // the docker CLI shows the same messages
    const r = await m1.docker(['node', 'update', '--availability', 'sometimes', 'w1']);
    assert.notEqual(r.code, 0);
    const cli = await m1.docker(['node', 'inspect', 'nosuchnode']);
    assert.match(cli.stderr, /node nosuchnode not found|No such node/);

    const after = await clusterState(m1);
    assert.deepEqual(after.swarm, before.swarm, 'the cluster object is unchanged (same version)');
    assert.deepEqual(after.nodes.map((n) => [n.ID, n.Spec]), before.nodes.map((n) => [n.ID, n.Spec]), 'node specs unchanged');
    assert.deepEqual(after.services, before.services);
    const tokens = (await m1.api<{ JoinTokens: unknown }>('GET', '/swarm')).json.JoinTokens;
    assert.deepEqual(tokens, (await m1.api<{ JoinTokens: unknown }>('GET', '/swarm')).json.JoinTokens);
  } catch (e) {
    console.log(lab.logs());
    throw e;
  } finally {
    assert.deepEqual(await lab.cleanup(), [], 'nothing left behind');
  }
});
