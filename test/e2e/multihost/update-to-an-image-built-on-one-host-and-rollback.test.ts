// Rolling update across hosts to an image that exists on one host only: `docker build` on a worker
// (no registry anywhere), then `docker service update --image <it> --update-parallelism 2`: every
// other host that gets a task fetches the image from that worker's engine (peer distribution: the
// peer listener on the advertise address, peers from the swarm's node list), the update goes two slots
// at a time, and `docker service rollback` brings every slot back to busybox.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MultihostLab, type TaskView, until, sleep } from './multihost-lab.js';

const NEW = 'webv2:1';
const OLD = 'busybox:latest';

/** Slots in the middle of being replaced: an old task no longer desired running and no new task running yet. */
function slotsInFlight(tasks: TaskView[], newImage: string): number {
  const slots = new Map<number, TaskView[]>();
  for (const t of tasks) if (t.Slot !== undefined) slots.set(t.Slot, [...(slots.get(t.Slot) ?? []), t]);
  let n = 0;
  for (const ts of slots.values()) {
    const oldLeaving = ts.some((t) => t.Spec.ContainerSpec?.Image !== newImage && t.DesiredState !== 'running' && t.Status.State !== 'rejected');
    const newRunning = ts.some((t) => t.Spec.ContainerSpec?.Image === newImage && t.Status.State === 'running');
    if (oldLeaving && !newRunning) n++;
  }
  return n;
}

test('update --image to an image built on one worker only reaches every host from that worker, 2 slots at a time; rollback restores busybox everywhere', { timeout: 175_000 }, async () => {
  assert.equal(process.getuid?.(), 0, 'the local cluster needs root (network namespaces, cgroups, mounts)');
  const lab = await MultihostLab.start({ hosts: 5, managers: 3 });
  let ok = false;
  try {
    const m = lab.host(1);
    const builder = lab.host(5);
    // a short grace period: busybox httpd as PID 1 ignores SIGTERM, so every stop waits it out
    await lab.dockerOk(m, ['service', 'create', '--detach', '--name', 'web', '--replicas', '6', '--stop-grace-period', '2s', OLD, 'httpd', '-f', '-p', '80']);
    await lab.waitRunning(m, 'web', 6);

    await lab.dockerOk(builder, ['build', '-t', NEW, '-'], { input: 'FROM busybox\nRUN echo v2 > /version\n', timeoutMs: 120_000 });
    const builtId = (await lab.dockerOk(builder, ['image', 'inspect', NEW, '--format', '{{.Id}}'])).trim();
    for (const h of lab.hosts.filter((x) => x !== builder)) {
      assert.notEqual((await lab.docker(h, ['image', 'inspect', NEW])).code, 0, `${h.name} must not have ${NEW} before the update`);
    }

    // the update, watched: never more than 2 slots in flight
    let maxInFlight = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const ts = await lab.tasks(m, 'web').catch(() => undefined);
        if (ts) maxInFlight = Math.max(maxInFlight, slotsInFlight(ts, NEW));
        await sleep(150);
      }
    })();
    await lab.dockerOk(m, ['service', 'update', '--image', NEW, '--update-parallelism', '2', '--rollback-parallelism', '2', 'web'], { timeoutMs: 150_000 });
    const updated = await lab.waitRunning(m, 'web', 6);
    watching = false;
    await watcher;
    assert.ok(updated.every((t) => t.Spec.ContainerSpec?.Image === NEW), 'every running task is on the new image');
    assert.ok(maxInFlight >= 1 && maxInFlight <= 2, `slots replaced at once: ${maxInFlight} (parallelism 2)`);
    const nodes = await lab.hostsByNode();
    const hostsWithTasks = new Set(updated.map((t) => nodes.get(t.NodeID ?? '')!));
    assert.ok([...hostsWithTasks].some((h) => h !== builder), 'some task runs on a host that did not build the image');
    for (const h of hostsWithTasks) {
      assert.equal((await lab.dockerOk(h, ['image', 'inspect', NEW, '--format', '{{.Id}}'])).trim(), builtId, `${h.name} has the built image, same ID`);
      const running = (await lab.containers(h)).filter((c) => c.Labels['com.docker.swarm.service.name'] === 'web' && c.State === 'running');
      assert.ok(running.length > 0 && running.every((c) => c.Image === NEW || c.Image.startsWith(`${NEW}@`)), `${h.name} runs web on ${NEW}: ${running.map((c) => c.Image).join(', ')}`);
    }

    // rollback: every slot back on busybox, no container of the new image left running anywhere
    await lab.dockerOk(m, ['service', 'rollback', 'web'], { timeoutMs: 150_000 });
    const back = await lab.waitRunning(m, 'web', 6);
    assert.ok(back.every((t) => t.Spec.ContainerSpec?.Image === OLD), `after rollback: ${back.map((t) => t.Spec.ContainerSpec?.Image).join(', ')}`);
    await until('no web container of the new image running on any host', async () => {
      for (const h of lab.hosts) {
        const cs = (await lab.containers(h)).filter((c) => c.Labels['com.docker.swarm.service.name'] === 'web' && c.State === 'running');
        if (cs.some((c) => c.Image !== OLD && c.Image !== 'busybox')) return undefined;
      }
      return true;
    }, 30_000, 500);
    ok = true;
  } finally {
    if (!ok) process.stderr.write(`${lab.allLogs()}\n`);
    const left = await lab.cleanup();
    assert.deepEqual(left, [], 'the lab left nothing behind');
  }
});
