// A worker host goes down (its shoald stopped and every process of its containers killed): the
// managers mark it Down after 3 missed heartbeat periods and its tasks become Running on the other
// hosts within 3 periods + 5 s. A service is removed while it is down. Brought back, the host rejoins
// (Ready), the containers of the removed service are removed, and none of its old containers runs: the
// tasks that moved away stay as exited history (as Docker keeps them, up to the retention limit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MultihostLab, until } from './multihost-lab.js';

const HEARTBEAT_S = 5; // the swarm default (Dispatcher.HeartbeatPeriod)

test('worker host down: its tasks run elsewhere within 3 heartbeat periods + 5 s; back: it rejoins and its stale containers are removed or stay stopped', { timeout: 175_000 }, async () => {
  assert.equal(process.getuid?.(), 0, 'the local cluster needs root (network namespaces, cgroups, mounts)');
  const lab = await MultihostLab.start({ hosts: 5, managers: 3 });
  let ok = false;
  try {
    const m = lab.host(1);
    const worker = lab.host(5);
    const nodes = await lab.hostsByNode();
    const workerId = await lab.nodeId(worker);
    await lab.dockerOk(m, ['service', 'create', '--detach', '--name', 'web', '--replicas', '10', '--stop-grace-period', '2s', 'busybox', 'httpd', '-f', '-p', '80']);
    await lab.dockerOk(m, ['service', 'create', '--detach', '--name', 'gone', '--mode', 'global', '--stop-grace-period', '2s', 'busybox', 'sleep', '1d']);
    const before = await lab.waitRunning(m, 'web', 10);
    await lab.waitRunning(m, 'gone', 5);
    const moved = before.filter((t) => t.NodeID === workerId).map((t) => t.ID);
    assert.ok(moved.length > 0, 'the worker runs web tasks before it goes down');

    // down
    await lab.stopHost(worker);
    const downAt = Date.now();
    const limitMs = (3 * HEARTBEAT_S + 5) * 1000;
    const after = await until(`web back to 10 running tasks, none on ${worker.name}`, async () => {
      const ts = (await lab.tasks(m, 'web')).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
      return ts.length === 10 && ts.every((t) => t.NodeID !== workerId) ? ts : undefined;
    }, limitMs, 250);
    const tookMs = Date.now() - downAt;
    process.stdout.write(`# ${worker.name}'s ${moved.length} web tasks running elsewhere ${(tookMs / 1000).toFixed(1)} s after it went down (limit ${limitMs / 1000} s)\n`);
    const ls = await lab.dockerOk(m, ['node', 'ls', '--format', '{{.Hostname}} {{.Status}}']);
    assert.match(ls, new RegExp(`${worker.name} Down`), ls);
    for (const t of after) assert.ok(nodes.has(t.NodeID ?? ''), 'replacements run on known hosts');

    // a service removed while the worker is away
    await lab.dockerOk(m, ['service', 'rm', 'gone']);

    // back
    await lab.startHost(worker);
    await until(`${worker.name} Ready again`, async () => (await lab.dockerOk(m, ['node', 'ls', '--format', '{{.Hostname}} {{.Status}}'])).includes(`${worker.name} Ready`), 60_000, 500);
    await until(`${worker.name}: the removed service's container removed, no stale container running`, async () => {
      const cs = await lab.containers(worker);
      if (cs.some((c) => c.Labels['com.docker.swarm.service.name'] === 'gone')) return undefined;
      const stale = cs.filter((c) => moved.includes(c.Labels['com.docker.swarm.task.id'] ?? ''));
      return stale.every((c) => c.State !== 'running') ? true : undefined;
    }, 60_000, 500);
    // every container left on the worker belongs to a task the managers know on this node, and only desired-running ones run
    const tasks = new Map((await lab.tasks(m)).map((t) => [t.ID, t]));
    for (const c of await lab.containers(worker)) {
      const t = tasks.get(c.Labels['com.docker.swarm.task.id'] ?? '');
      assert.ok(t, `${c.Names[0]}: no such task in the swarm (should have been removed)`);
      assert.equal(t.NodeID, workerId, `${c.Names[0]}: task of another node`);
      if (c.State === 'running') assert.equal(t.DesiredState, 'running', `${c.Names[0]} runs but its task is desired ${t.DesiredState}`);
    }
    // still 10 web tasks, one per slot
    const final = await lab.waitRunning(m, 'web', 10);
    assert.equal(new Set(final.map((t) => t.Slot)).size, 10, 'one running task per slot');
    ok = true;
  } finally {
    if (!ok) process.stderr.write(`${lab.allLogs()}\n`);
    const left = await lab.cleanup();
    assert.deepEqual(left, [], 'the lab left nothing behind');
  }
});
