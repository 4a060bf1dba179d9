// SIGKILL of the leader manager's shoald in the middle of a scale-up (5 → 25, asked through a
// follower): another manager takes over, the scale completes (25 running, the dead host's tasks
// replaced once it is Down), no slot has two tasks desired running, and — after the killed host's
// shoald is started again and rejoins — no host runs a container it should not: checked host by host,
// every container belongs to a task of that host, only desired-running tasks' containers run, and
// across the cluster each slot has exactly one running container.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MultihostLab, type ContainerView, until } from './multihost-lab.js';

test('leader SIGKILLed during a scale-up: the scale completes, no slot doubled, no orphan container on any host', { timeout: 175_000 }, async () => {
  assert.equal(process.getuid?.(), 0, 'the local cluster needs root (network namespaces, cgroups, mounts)');
  const lab = await MultihostLab.start({ hosts: 5, managers: 3 });
  let ok = false;
  try {
    const leader = lab.host(1);
    const follower = lab.host(2);
    await lab.dockerOk(leader, ['service', 'create', '--detach', '--name', 'web', '--replicas', '5', '--stop-grace-period', '2s', 'busybox', 'httpd', '-f', '-p', '80']);
    await lab.waitRunning(leader, 'web', 5);
    const leaderId = await lab.nodeId(leader);

    await lab.dockerOk(follower, ['service', 'scale', '--detach', 'web=25']);
    lab.killDaemon(leader);

    await until('a new leader', async () => (await lab.dockerOk(follower, ['node', 'ls', '--format', '{{.Hostname}} {{.ManagerStatus}}'])).match(/ Leader$/m) !== null, 60_000, 500);
    const spec = await lab.json<{ Spec: { Mode: { Replicated: { Replicas: number } } } }>(follower, '/services/web');
    assert.equal(spec.Spec.Mode.Replicated.Replicas, 25, 'the scale acknowledged before the kill is kept');
    const running = await until('25 web tasks running on the surviving hosts', async () => {
      const ts = (await lab.tasks(follower, 'web')).filter((t) => t.DesiredState === 'running');
      return ts.length === 25 && ts.every((t) => t.Status.State === 'running' && t.NodeID !== leaderId) ? ts : undefined;
    }, 90_000, 500);
    assert.equal(new Set(running.map((t) => t.Slot)).size, 25, 'no slot has two tasks desired running');

    // the killed host comes back; its containers of tasks moved away must stop
    await lab.startHost(leader);
    await until(`${leader.name} Ready again`, async () => (await lab.dockerOk(follower, ['node', 'ls', '--format', '{{.Hostname}} {{.Status}}'])).includes(`${leader.name} Ready`), 60_000, 500);
    const nodes = await lab.hostsByNode();
    const problems = async (): Promise<string[]> => {
      const tasks = new Map((await lab.tasks(follower)).map((t) => [t.ID, t]));
      const out: string[] = [];
      const runningBySlot = new Map<number, string[]>();
      for (const [nodeId, h] of nodes) {
        let cs: ContainerView[];
        try {
          cs = await lab.containers(h);
        } catch (e) {
          out.push(`${h.name}: ${(e as Error).message}`);
          continue;
        }
        for (const c of cs) {
          const t = tasks.get(c.Labels['com.docker.swarm.task.id'] ?? '');
          if (!t) out.push(`${h.name}: ${c.Names[0]} is an orphan (no such task)`);
          else if (t.NodeID !== nodeId) out.push(`${h.name}: ${c.Names[0]} belongs to a task of another node`);
          else if (c.State === 'running' && t.DesiredState !== 'running') out.push(`${h.name}: ${c.Names[0]} runs but its task is desired ${t.DesiredState}`);
          if (c.State === 'running' && t?.Slot !== undefined) runningBySlot.set(t.Slot, [...(runningBySlot.get(t.Slot) ?? []), `${h.name}:${c.Names[0]}`]);
        }
      }
      for (const [slot, cs] of runningBySlot) if (cs.length > 1) out.push(`slot ${slot} has ${cs.length} running containers: ${cs.join(', ')}`);
      if (runningBySlot.size !== 25) out.push(`${runningBySlot.size} slots have a running container, not 25`);
      return out;
    };
    let last: string[] = [];
    await until('every host runs exactly its tasks: one running container per slot, no orphan', async () => {
      last = await problems();
      return last.length === 0 ? true : undefined;
    }, 60_000, 1000).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}:\n${last.join('\n')}`);
    });
    ok = true;
  } finally {
    if (!ok) process.stderr.write(`${lab.allLogs()}\n`);
    const left = await lab.cleanup();
    assert.deepEqual(left, [], 'the lab left nothing behind');
  }
});
