// The EngineExecutor driven by the agent's TaskRunner against a real Engine (runc/crun under conmon,
// overlayfs, cgroups, a bridge in a lab netns) with the busybox image: the states a task goes through,
// Docker's container name, labels and create options, exit codes and error wording, the grace period on
// shutdown, health checks gating RUNNING and failing a task, host-mode published ports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Task, TaskState, TaskStatus } from '../../../manager/store/index.js';
import { TaskRunner } from '../../../worker/agent/index.js';
import { EngineExecutor } from '../../../worker/executor/index.js';
import { shAsync } from '../network/netns-harness.js';
import { openEngineHost, task, until, type EngineHost } from './executor-fixture.js';

interface Run {
  runner: TaskRunner;
  states: TaskState[];
  last: () => TaskStatus;
}

function run(ex: EngineExecutor, t: Task): Run {
  const states: TaskState[] = [];
  let last = t.Status;
  const runner = new TaskRunner(t, t.Status, ex, (_t, st) => {
    states.push(st.State);
    last = st;
  }, Date.now);
  runner.kick();
  return { runner, states, last: () => last };
}

async function logsOf(h: EngineHost, ex: EngineExecutor, t: Task): Promise<string> {
  let out = '';
  for await (const e of ex.logs(t)) out += e.data.toString();
  void h;
  return out;
}

test('engine executor: a task runs as a busybox container with Docker\'s name, swarm labels and spec; exits map to complete/failed; a missing image is rejected', async () => {
  const h = await openEngineHost();
  try {
    const ex = new EngineExecutor({ engine: h.engine, hostname: 'lab-host' });
    const d = await ex.describe();
    assert.equal(d.Hostname, 'lab-host');
    assert.ok(d.Resources.NanoCPUs > 0 && d.Resources.MemoryBytes > 0);

    const ok = task({
      service: 'web',
      slot: 3,
      serviceLabels: { 'com.docker.stack.namespace': 'shop' },
      spec: {
        ContainerSpec: {
          Image: 'busybox:latest',
          Labels: { tier: 'front' },
          Command: ['sh', '-c'],
          Args: ['echo "$GREETING from $(hostname) as $(id -u) in $(pwd)"; mount | grep -c " /scratch "; mount | grep -c " /data "'],
          Env: ['GREETING=hello'],
          User: '1000',
          Dir: '/tmp',
          Hostname: 'web-3',
          Mounts: [
            { Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: 1 << 20 } },
            { Type: 'volume', Source: `vol${h.lab.prefix}`, Target: '/data' },
          ],
        },
        Resources: { Limits: { MemoryBytes: 64 << 20, Pids: 50 } },
      },
    });
    const r1 = run(ex, ok);
    await until('task complete', () => r1.last().State === 'complete' || r1.last().State === 'failed');
    assert.deepEqual(r1.states, ['accepted', 'preparing', 'ready', 'starting', 'running', 'complete'], JSON.stringify(r1.last()));
    assert.equal(r1.last().Message, 'finished');
    assert.equal(r1.last().ContainerStatus?.ExitCode, 0);
    const c = ex.containerOf(ok.ID)!;
    assert.equal(r1.last().ContainerStatus?.ContainerID, c.id);
    assert.equal(c.name, `web.3.${ok.ID}`);
    const labels = c.config.Labels!;
    assert.equal(labels['com.docker.swarm.service.name'], 'web');
    assert.equal(labels['com.docker.swarm.service.id'], ok.ServiceID);
    assert.equal(labels['com.docker.swarm.task.id'], ok.ID);
    assert.equal(labels['com.docker.swarm.task.name'], `web.3.${ok.ID}`);
    assert.equal(labels['com.docker.swarm.node.id'], ok.NodeID);
    assert.equal(labels['com.docker.stack.namespace'], 'shop');
    assert.equal(labels['tier'], 'front');
    const insp = h.engine.manager.inspect(c.id) as { HostConfig: { Memory: number; PidsLimit: number } };
    assert.equal(insp.HostConfig.Memory, 64 << 20);
    assert.equal(insp.HostConfig.PidsLimit, 50);
    assert.equal(await logsOf(h, ex, ok), 'hello from web-3 as 1000 in /tmp\n1\n1\n');
    await ex.remove(ok);
    assert.equal(ex.containerOf(ok.ID), undefined);
    assert.ok(h.engine.volumes.get(`vol${h.lab.prefix}`), 'a named volume outlives the task');

    // a non-zero exit: FAILED with moby's wording and the exit code
    const bad = task({ service: 'job', slot: 1, spec: { ContainerSpec: { Image: 'busybox', Command: ['sh', '-c', 'exit 3'] } } });
    const r2 = run(ex, bad);
    await until('task failed', () => r2.last().State === 'failed');
    assert.equal(r2.last().Err, 'task: non-zero exit (3)');
    assert.equal(r2.last().ContainerStatus?.ExitCode, 3);
    await ex.remove(bad);

    // a global task's container is named after the node; an image that cannot be pulled is rejected
    const missing = task({ service: 'ghost', slot: 0, spec: { ContainerSpec: { Image: '127.0.0.1:1/nope:latest' } } });
    const r3 = run(ex, missing);
    await until('task rejected', () => r3.last().State === 'rejected');
    assert.deepEqual(r3.states, ['accepted', 'preparing', 'rejected']);
    assert.equal(r3.last().Err, 'No such image: 127.0.0.1:1/nope:latest');
    assert.equal(ex.containerOf(missing.ID), undefined);
  } finally {
    await h.cleanup();
  }
});

test('engine executor: shutdown stops with the stop signal and grace period and reports shutdown, not failed; remove leaves nothing', async () => {
  const h = await openEngineHost();
  try {
    const ex = new EngineExecutor({ engine: h.engine });
    // traps TERM and ignores it: only the SIGKILL after the 1 s grace period ends it
    const t = task({
      service: 'stubborn',
      spec: {
        ContainerSpec: {
          Image: 'busybox',
          Command: ['sh', '-c', 'trap "echo got USR1" USR1; trap "" TERM; echo up; while :; do sleep 0.1; done'],
          StopSignal: 'SIGUSR1',
          StopGracePeriod: 1_000_000_000,
        },
      },
    });
    const r = run(ex, t);
    await until('task running', () => r.last().State === 'running');
    await until('process up', async () => (await logsOf(h, ex, t)).includes('up'));
    r.runner.update({ ...t, DesiredState: 'shutdown' });
    await until('task shut down', () => r.last().State === 'shutdown' || r.last().State === 'failed');
    assert.equal(r.last().State, 'shutdown', JSON.stringify(r.last()));
    assert.deepEqual(r.states.slice(-2), ['running', 'shutdown']);
    assert.match(await logsOf(h, ex, t), /got USR1/);
    const c = ex.containerOf(t.ID)!;
    assert.equal(c.state.status, 'exited');
    assert.equal(c.state.exitCode, 137, 'killed after the grace period');
    await r.runner.remove();
    assert.equal(ex.containerOf(t.ID), undefined);
  } finally {
    await h.cleanup();
  }
});

test('engine executor: a health check holds the task in STARTING until healthy; a failing one fails the task with "unhealthy container"', async () => {
  const h = await openEngineHost();
  try {
    const ex = new EngineExecutor({ engine: h.engine });
    const health = { Test: ['CMD-SHELL', 'test -f /tmp/ready'], Interval: 100_000_000, Timeout: 1_000_000_000, Retries: 2 };
    // failures inside the start period do not count
    const t = task({
      service: 'slow',
      spec: { ContainerSpec: { Image: 'busybox', Command: ['sh', '-c', 'sleep 1; touch /tmp/ready; exec sleep 1000'], Healthcheck: { ...health, StartPeriod: 30_000_000_000 }, StopGracePeriod: 0 } },
    });
    const r = run(ex, t);
    await until('container started', () => ex.containerOf(t.ID)?.state.status === 'running');
    assert.equal(r.last().State, 'starting', 'not running before the first healthy check');
    await until('task running', () => r.last().State === 'running');
    assert.equal(ex.containerOf(t.ID)!.state.health?.Status, 'healthy');

    // healthy, then broken: the task fails and its container is stopped
    const u = task({
      service: 'flaky',
      spec: { ContainerSpec: { Image: 'busybox', Command: ['sh', '-c', 'touch /tmp/ready; sleep 1.5; rm /tmp/ready; exec sleep 1000'], Healthcheck: health, StopGracePeriod: 0 } },
    });
    const r2 = run(ex, u);
    await until('flaky task failed', () => r2.last().State === 'failed', 60_000);
    assert.ok(r2.states.includes('running'), r2.states.join(','));
    assert.equal(r2.last().Err, 'unhealthy container');
    await until('flaky container stopped', () => ex.containerOf(u.ID)?.state.status === 'exited');

    // never healthy: the task fails in STARTING
    const n = task({ service: 'never', spec: { ContainerSpec: { Image: 'busybox', Command: ['sleep', '1000'], Healthcheck: { ...health, Test: ['CMD', 'false'] }, StopGracePeriod: 0 } } });
    const r3 = run(ex, n);
    await until('never-healthy task failed', () => r3.last().State === 'failed', 60_000);
    assert.deepEqual(r3.states, ['accepted', 'preparing', 'ready', 'starting', 'failed']);
    assert.equal(r3.last().Err, 'unhealthy container');

    // still waiting to be healthy when the manager wants it stopped: the start is cut short, SHUTDOWN
    const w = task({ service: 'waiting', spec: { ContainerSpec: { Image: 'busybox', Command: ['sleep', '1000'], Healthcheck: { ...health, Test: ['CMD', 'false'], StartPeriod: 600_000_000_000 }, StopGracePeriod: 0 } } });
    const r4 = run(ex, w);
    await until('waiting task starting', () => ex.containerOf(w.ID)?.state.status === 'running' && r4.last().State === 'starting');
    r4.runner.update({ ...w, DesiredState: 'shutdown' });
    await until('waiting task shut down', () => r4.last().State === 'shutdown' || r4.last().State === 'failed');
    assert.deepEqual(r4.states, ['accepted', 'preparing', 'ready', 'starting', 'shutdown']);
    assert.equal(ex.containerOf(w.ID)!.state.status, 'exited');
    for (const x of [t, u, n, w]) await ex.remove(x);
  } finally {
    await h.cleanup();
  }
});

test('engine executor: host-mode published ports are bound (a dynamic one is reported in PortStatus) and reach the task', async () => {
  const h = await openEngineHost();
  try {
    const ex = new EngineExecutor({ engine: h.engine });
    const t = task({
      service: 'httpd',
      spec: { ContainerSpec: { Image: 'busybox', Command: ['sh', '-c', 'mkdir -p /www; echo "hello from task" > /www/index.html; exec httpd -f -p 80 -h /www'], StopGracePeriod: 0 } },
    });
    t.Endpoint = { Spec: {}, Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 0, PublishMode: 'host' }] };
    const r = run(ex, t);
    await until('task running', () => r.last().State === 'running');
    const ports = r.last().PortStatus?.Ports ?? [];
    assert.equal(ports.length, 1, JSON.stringify(r.last()));
    assert.equal(ports[0]!.TargetPort, 80);
    assert.equal(ports[0]!.PublishMode, 'host');
    const port = ports[0]!.PublishedPort!;
    assert.ok(port > 0, `published port ${port}`);
    // from another host (the lab's client netns) to this host's address
    let answer = '';
    await until('httpd answers on the published port', async () => {
      const r = await shAsync(['nsenter', `--net=/run/netns/${h.lab.clientNs}`, 'curl', '-s', '--max-time', '3', `http://${h.lab.hostAddr}:${port}/`]);
      answer = r.out;
      return r.code === 0;
    }, 20_000);
    assert.equal(answer, 'hello from task\n');
    await ex.shutdown(t);
    await ex.remove(t);
  } finally {
    await h.cleanup();
  }
});
