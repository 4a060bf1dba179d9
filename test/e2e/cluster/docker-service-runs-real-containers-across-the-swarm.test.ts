// A service created through the docker CLI on a manager runs real containers on every node: one
// manager and two workers (separate shoald processes, real engines, busybox preloaded), `docker service
// create --name web --replicas 6 busybox httpd -f -p 80` converges, each host's `docker ps` shows its
// own task containers with Docker's swarm labels, and removing the service removes them everywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SwarmLab, until } from '../../integration/cluster/swarm-lab.js';

test('docker service create --replicas 6 runs busybox httpd containers across 3 nodes; docker ps on each host shows them', async () => {
  const lab = await SwarmLab.start(['m1', 'w1', 'w2'], { executor: 'engine', busybox: true });
  try {
    await lab.form('m1', [], ['w1', 'w2']);
    const m1 = lab.host('m1');
    await until('3 ready nodes', async () => (await m1.nodeLs()).filter((n) => n.status === 'Ready').length === 3);
    const t0 = Date.now();
    const created = await m1.docker(['service', 'create', '--name', 'web', '--replicas', '6', '--no-resolve-image', 'busybox', 'httpd', '-f', '-p', '80'], { timeoutMs: 180_000 });
    const convergedMs = Date.now() - t0;
    assert.equal(created.code, 0, `${created.stderr}\n${lab.logs()}`);
    assert.match(created.stdout + created.stderr, /verify: Service web converged|Service web converged|converged/);

    const ps = (await m1.dockerOk(['service', 'ps', 'web', '--format', '{{.Name}}|{{.Node}}|{{.CurrentState}}|{{.DesiredState}}'])).trim().split('\n');
    const running = ps.map((l) => l.split('|')).filter((f) => f[3] === 'Running' && f[2]!.startsWith('Running'));
    assert.equal(running.length, 6, ps.join('\n'));
    const perNode = new Map<string, number>();
    for (const f of running) perNode.set(f[1]!, (perNode.get(f[1]!) ?? 0) + 1);
    assert.deepEqual([...perNode.keys()].sort(), ['m1', 'w1', 'w2'], 'spread over every node');

    const ids = new Map((await m1.nodeLs()).map((n) => [n.hostname, n.id]));
    for (const h of lab.hosts) {
      const out = (await h.dockerOk(['ps', '--filter', 'label=com.docker.swarm.service.name=web', '--format',
        '{{.Names}}|{{.Label "com.docker.swarm.node.id"}}|{{.Label "com.docker.swarm.task.id"}}|{{.Label "com.docker.swarm.service.id"}}|{{.Status}}'])).trim().split('\n').filter(Boolean);
      assert.equal(out.length, perNode.get(h.name), `${h.name} runs its ${perNode.get(h.name)} tasks: ${out.join('; ')}`);
      for (const line of out) {
        const [name, node, task, service, status] = line.split('|') as [string, string, string, string, string];
        assert.match(name, /^web\.[1-6]\.[0-9a-z]{25}$/);
        assert.equal(node, ids.get(h.name), 'the container is labelled with its own node');
        assert.ok(name.endsWith(task), 'named after its task');
        assert.match(service, /^[0-9a-z]{25}$/);
        assert.match(status, /^Up /);
      }
      // the process inside is busybox httpd listening on 80
      const first = out[0]!.split('|')[0]!;
      assert.match(await h.dockerOk(['exec', first, 'ps']), /httpd -f -p 80/);
    }

    await m1.dockerOk(['service', 'rm', 'web']);
    for (const h of lab.hosts) {
      await until(`${h.name}'s task containers gone`, async () =>
        (await h.dockerOk(['ps', '-a', '--filter', 'label=com.docker.swarm.service.name=web', '-q'])).trim() === '', 60_000, 300);
    }
    console.log(`# docker service create --replicas 6 over 3 nodes converged (CLI returned) in ${convergedMs} ms`);
  } catch (e) {
    console.log(lab.logs());
    throw e;
  } finally {
    assert.deepEqual(await lab.cleanup(), [], 'nothing left behind');
  }
});
