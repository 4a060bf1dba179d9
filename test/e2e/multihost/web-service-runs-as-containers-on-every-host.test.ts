// The local multi-host cluster (5 netns hosts: 3 managers + 2 workers, one shoald each) with real
// containers and the real docker CLI: `docker service create --name web --replicas 6 busybox httpd -f -p 80`
// converges; `docker service ps` shows 6 Running over all 5 hosts; `docker ps` on every host shows
// exactly its tasks' containers with the swarm labels; `docker service logs` brings lines from every
// host; scale 6 → 20 (4 per host) → 2 (the other 18 containers stop).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MultihostLab, until } from './multihost-lab.js';

test('web --replicas 6 runs as containers spread over 5 hosts with swarm labels; logs come from every host; scale 6 → 20 → 2', { timeout: 170_000 }, async () => {
  assert.equal(process.getuid?.(), 0, 'the local cluster needs root (network namespaces, cgroups, mounts)');
  const lab = await MultihostLab.start({ hosts: 5, managers: 3 });
  let ok = false;
  try {
    const m = lab.host(1);
    const nodes = await lab.hostsByNode();
    const hostOf = (nodeId: string | undefined): string => nodes.get(nodeId ?? '')?.name ?? `?${nodeId}`;

    // create and converge (the CLI waits for convergence itself)
    await lab.dockerOk(m, ['service', 'create', '--name', 'web', '--replicas', '6', 'busybox', 'httpd', '-f', '-p', '80'], { timeoutMs: 120_000 });
    const svcId = (await lab.dockerOk(m, ['service', 'inspect', 'web', '--format', '{{.ID}}'])).trim();
    const ps = (await lab.dockerOk(m, ['service', 'ps', 'web', '--format', '{{.Name}}|{{.Node}}|{{.DesiredState}}|{{.CurrentState}}'])).trim().split('\n');
    assert.equal(ps.length, 6, ps.join('\n'));
    for (const row of ps) {
      const [, , desired, current] = row.split('|');
      assert.equal(desired, 'Running', row);
      assert.match(current ?? '', /^Running/, row);
    }
    assert.deepEqual(new Set(ps.map((r) => r.split('|')[1])), new Set(lab.hosts.map((h) => h.name)), 'every host runs at least one of the 6');

    // docker ps on each host: exactly its tasks, with Docker's swarm labels
    const tasks = await lab.waitRunning(m, 'web', 6);
    const fmt = '{{.Names}}|{{.Label "com.docker.swarm.service.name"}}|{{.Label "com.docker.swarm.service.id"}}|{{.Label "com.docker.swarm.task.id"}}|{{.Label "com.docker.swarm.task.name"}}|{{.Label "com.docker.swarm.node.id"}}';
    for (const [nodeId, h] of nodes) {
      const rows = (await lab.dockerOk(h, ['ps', '--filter', 'label=com.docker.swarm.service.name=web', '--format', fmt])).trim().split('\n').filter(Boolean);
      const mine = tasks.filter((t) => t.NodeID === nodeId);
      assert.equal(rows.length, mine.length, `${h.name}: docker ps shows ${rows.length} web containers, the manager has ${mine.length} tasks there:\n${rows.join('\n')}`);
      for (const row of rows) {
        const [name, service, serviceId, taskId, taskName, node] = row.split('|') as [string, string, string, string, string, string];
        const t = mine.find((x) => x.ID === taskId);
        assert.ok(t, `${h.name}: container ${name} belongs to no task of this node (task.id=${taskId})`);
        assert.equal(service, 'web');
        assert.equal(serviceId, svcId);
        assert.equal(node, nodeId);
        assert.equal(taskName, `web.${t.Slot}.${taskId}`);
        assert.equal(name, taskName);
      }
    }

    // logs from every host: a global service that says hello once per node
    await lab.dockerOk(m, ['service', 'create', '--detach', '--name', 'hello', '--mode', 'global', 'busybox', 'sh', '-c', 'echo "hello from $(hostname)"; exec sleep 1d']);
    await lab.waitRunning(m, 'hello', 5);
    const fromHosts = await until('docker service logs hello from all 5 hosts', async () => {
      const out = await lab.dockerOk(m, ['service', 'logs', 'hello'], { timeoutMs: 30_000 });
      const seen = new Set<string>();
      for (const line of out.split('\n')) {
        const mm = /^hello\.[a-z0-9]+\.[a-z0-9]+@([a-z0-9-]+)\s*\|\s*hello from \S+/.exec(line);
        if (mm) seen.add(mm[1]!);
      }
      return seen.size === 5 ? seen : undefined;
    }, 60_000, 1000);
    assert.deepEqual(fromHosts, new Set(lab.hosts.map((h) => h.name)));

    // scale 6 → 20: spread evenly, 4 per host, as containers
    await lab.dockerOk(m, ['service', 'scale', 'web=20'], { timeoutMs: 120_000 });
    const twenty = await lab.waitRunning(m, 'web', 20);
    const perHost = new Map<string, number>();
    for (const t of twenty) perHost.set(hostOf(t.NodeID), (perHost.get(hostOf(t.NodeID)) ?? 0) + 1);
    assert.deepEqual([...perHost.values()], [4, 4, 4, 4, 4], `per host: ${JSON.stringify([...perHost])}`);
    for (const h of lab.hosts) {
      const running = (await lab.containers(h)).filter((c) => c.Labels['com.docker.swarm.service.name'] === 'web' && c.State === 'running');
      assert.equal(running.length, 4, `${h.name} runs ${running.length} web containers`);
    }

    // scale 20 → 2: two tasks run, every other container stops
    await lab.dockerOk(m, ['service', 'scale', 'web=2'], { timeoutMs: 120_000 });
    const two = await lab.waitRunning(m, 'web', 2);
    const keep = new Set(two.map((t) => t.ID));
    await until('only the 2 remaining web containers running on the hosts', async () => {
      const running = [];
      for (const h of lab.hosts) running.push(...(await lab.containers(h)).filter((c) => c.Labels['com.docker.swarm.service.name'] === 'web' && c.State === 'running'));
      return running.length === 2 && running.every((c) => keep.has(c.Labels['com.docker.swarm.task.id'] ?? '')) ? true : undefined;
    }, 60_000, 500);
    ok = true;
  } finally {
    if (!ok) process.stderr.write(`${lab.allLogs()}\n`);
    const left = await lab.cleanup();
    assert.deepEqual(left, [], 'the lab left nothing behind');
  }
});
