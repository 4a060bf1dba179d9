import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateId, type Service, type ServiceSpec, type Task } from '../../../manager/store/index.js';
import { validateServiceSpec } from '../../../manager/controlapi/validate.js';
import { ManualClock, SimCluster } from './sim-cluster.js';

const S = 1_000_000_000;
let n = 100;
const rb = (k: number): Uint8Array => {
  n++;
  return Uint8Array.from({ length: k }, (_, i) => (i * 17 + n * 13) & 255);
};

async function create(c: SimCluster, body: Record<string, unknown>): Promise<Service> {
  const spec = validateServiceSpec(body);
  const { result } = await c.store.update((tx) => tx.create('services', { ID: generateId(rb), Spec: spec }));
  return result;
}

async function setImage(c: SimCluster, id: string, image: string): Promise<void> {
  await c.store.update((tx) => {
    const s = tx.get('services', id)!;
    const { UpdateStatus: _u, ...rest } = s;
    const spec = structuredClone(s.Spec) as ServiceSpec;
    spec.TaskTemplate.ContainerSpec.Image = image;
    tx.update('services', { ...rest, PreviousSpec: s.Spec, Spec: spec });
  });
}

const settle = () => new Promise((r) => setTimeout(r, 50));
const status = (c: SimCluster, id: string) => c.store.view((tx) => tx.get('services', id)?.UpdateStatus);

/** Store history of the service's tasks: per event the index, task and what changed. */
function record(c: SimCluster): { ev: { index: number; action: string; task: Task; old?: Task }[]; stop: () => void } {
  const ev: { index: number; action: string; task: Task; old?: Task }[] = [];
  const w = c.store.watch({ tables: ['tasks'] });
  void (async () => {
    try {
      for await (const e of w) if (e.kind === 'change' && e.table === 'tasks') ev.push({ index: e.index, action: e.action, task: e.object, ...(e.oldObject ? { old: e.oldObject } : {}) });
    } catch {
      /* closed */
    }
  })();
  return { ev, stop: () => w.close() };
}

for (const order of ['stop-first', 'start-first'] as const) {
  test(`rolling update, parallelism 2, delay 1 s, ${order}: batches of 2, the delay between them, the order within a slot`, async () => {
    const clock = new ManualClock();
    const c = new SimCluster({ clock });
    await c.start();
    try {
      for (const id of ['r1', 'r2', 'r3']) await c.addNode(id);
      const s = await create(c, {
        Name: 'roll',
        TaskTemplate: { ContainerSpec: { Image: 'app:1' } },
        Mode: { Replicated: { Replicas: 6 } },
        UpdateConfig: { Parallelism: 2, Delay: 1 * S, Monitor: 0, Order: order },
      });
      await c.until('6 running', () => c.running(s.ID).length === 6);
      const rec = record(c);
      await setImage(c, s.ID, 'app:2');
      const v2 = () => c.running(s.ID).filter((t) => t.Spec.ContainerSpec.Image === 'app:2').length;
      const created = () => c.tasks(s.ID).filter((t) => t.Spec.ContainerSpec.Image === 'app:2').length;
      for (let batch = 1; batch <= 3; batch++) {
        await c.until(`batch ${batch} running`, () => v2() === 2 * batch);
        await settle();
        assert.equal(created(), 2 * batch, `batch ${batch}: exactly ${2 * batch} new tasks so far`);
        if (batch < 3) {
          clock.advance(999);
          await settle();
          assert.equal(created(), 2 * batch, 'no new batch before the delay is over');
          clock.advance(1);
        }
      }
      await c.until('completed', () => status(c, s.ID)?.State === 'completed');
      assert.equal(c.running(s.ID).length, 6);
      rec.stop();
      // per slot: when the old task was told to stop vs when the new one was created / ran
      for (let slot = 1; slot <= 6; slot++) {
        const shut = rec.ev.find((e) => e.task.Slot === slot && e.task.Spec.ContainerSpec.Image === 'app:1' && e.task.DesiredState === 'shutdown' && e.old?.DesiredState === 'running')!;
        const born = rec.ev.find((e) => e.task.Slot === slot && e.action === 'create' && e.task.Spec.ContainerSpec.Image === 'app:2')!;
        const ran = rec.ev.find((e) => e.task.Slot === slot && e.task.Spec.ContainerSpec.Image === 'app:2' && e.task.Status.State === 'running')!;
        assert.ok(shut && born && ran, `slot ${slot} was replaced`);
        if (order === 'stop-first') assert.ok(shut.index <= born.index, `slot ${slot}: old stopped before the new one was created`);
        else assert.ok(ran.index < shut.index, `slot ${slot}: new one ran before the old was stopped`);
      }
    } finally {
      await c.stop();
    }
  });
}

test('failure action rollback: a failing new image rolls the service back to its previous spec', async () => {
  const c = new SimCluster();
  await c.start();
  try {
    for (const id of ['f1', 'f2']) await c.addNode(id);
    c.failImages.add('app:bad');
    const s = await create(c, {
      Name: 'rb',
      TaskTemplate: { ContainerSpec: { Image: 'app:good' }, RestartPolicy: { Delay: 0.01 * S } },
      Mode: { Replicated: { Replicas: 4 } },
      UpdateConfig: { Parallelism: 1, Monitor: 0.2 * S, FailureAction: 'rollback' },
      RollbackConfig: { Parallelism: 0, Monitor: 0 },
    });
    await c.until('4 running', () => c.running(s.ID).length === 4);
    await setImage(c, s.ID, 'app:bad');
    await c.until('rollback_completed', () => status(c, s.ID)?.State === 'rollback_completed');
    const svc = c.store.view((tx) => tx.get('services', s.ID)!);
    assert.equal(svc.Spec.TaskTemplate.ContainerSpec.Image, 'app:good');
    assert.equal(svc.PreviousSpec?.TaskTemplate.ContainerSpec.Image, 'app:bad');
    await c.until('4 good running', () => c.running(s.ID).length === 4 && c.running(s.ID).every((t) => t.Spec.ContainerSpec.Image === 'app:good'));
    const bad = c.tasks(s.ID).filter((t) => t.Spec.ContainerSpec.Image === 'app:bad');
    assert.equal(bad.length, 1, 'only the first batch (parallelism 1) tried the bad image');
  } finally {
    await c.stop();
  }
});

test('failure action pause: the update stops at the first failure and says why', async () => {
  const c = new SimCluster();
  await c.start();
  try {
    await c.addNode('p1');
    c.failImages.add('app:bad');
    const s = await create(c, {
      Name: 'pause',
      TaskTemplate: { ContainerSpec: { Image: 'app:good' }, RestartPolicy: { Condition: 'none' } },
      Mode: { Replicated: { Replicas: 3 } },
      UpdateConfig: { Parallelism: 1, Monitor: 0.1 * S },
    });
    await c.until('3 running', () => c.running(s.ID).length === 3);
    await setImage(c, s.ID, 'app:bad');
    await c.until('paused', () => status(c, s.ID)?.State === 'paused');
    assert.match(status(c, s.ID)!.Message!, /^update paused due to failure or early termination of task \w{25}$/);
    await settle();
    assert.equal(c.running(s.ID).filter((t) => t.Spec.ContainerSpec.Image === 'app:good').length, 2, 'the other two slots were left alone');
  } finally {
    await c.stop();
  }
});

test('replicated job runs MaxConcurrent at a time until TotalCompletions; completed tasks are not restarted', async () => {
  const c = new SimCluster();
  await c.start();
  try {
    await c.addNode('j1');
    await c.addNode('j2');
    const s = await create(c, { Name: 'job', TaskTemplate: { ContainerSpec: { Image: 'work' } }, Mode: { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 5 } } });
    let maxSeen = 0;
    for (let done = 0; done < 5; ) {
      await c.until('a task running', () => c.running(s.ID).length > 0);
      const run = c.running(s.ID);
      maxSeen = Math.max(maxSeen, run.length);
      // the simulated agent completes one task
      const t = run[0]!;
      await c.store.update((tx) => {
        const cur = tx.get('tasks', t.ID)!;
        tx.update('tasks', { ...cur, Status: { ...cur.Status, State: 'complete', Message: 'finished' } });
      });
      done++;
      await settle();
    }
    await settle();
    assert.equal(c.tasks(s.ID).filter((t) => t.Status.State === 'complete').length, 5);
    assert.equal(c.running(s.ID).length, 0, 'no task after 5 completions');
    assert.equal(maxSeen, 2);
  } finally {
    await c.stop();
  }
});

test('the reaper keeps at most TaskHistoryRetentionLimit tasks per slot', async () => {
  const c = new SimCluster();
  await c.start();
  try {
    await c.store.update((tx) => {
      const cl = tx.find('clusters')[0]!;
      tx.update('clusters', { ...cl, Spec: { ...cl.Spec, Orchestration: { TaskHistoryRetentionLimit: 2 } } });
    });
    await c.addNode('h1');
    c.failImages.add('flaky');
    const rec = record(c);
    const s = await create(c, { Name: 'hist', TaskTemplate: { ContainerSpec: { Image: 'flaky' }, RestartPolicy: { Delay: 0.01 * S, MaxAttempts: 6 } }, Mode: { Replicated: { Replicas: 1 } } });
    const creates = () => rec.ev.filter((e) => e.action === 'create').length;
    await c.until('first run + 6 restarts', () => creates() === 7 && c.tasks(s.ID).some((t) => t.DesiredState === 'running' && t.Status.State === 'failed'), 10_000);
    await settle();
    rec.stop();
    assert.equal(creates(), 7, 'no restart beyond MaxAttempts');
    assert.ok(rec.ev.some((e) => e.action === 'delete'), 'old tasks were deleted');
    assert.ok(c.tasks(s.ID).length <= 2, `history trimmed to 2 (have ${c.tasks(s.ID).length})`);
  } finally {
    await c.stop();
  }
});

for (const failAfterMs of [500, 1001]) {
  test(`monitor 1 s: a new task failing ${failAfterMs} ms after it started ${failAfterMs < 1000 ? 'pauses the update' : 'does not count as an update failure'}`, async () => {
    const clock = new ManualClock();
    const c = new SimCluster({ clock });
    await c.start();
    try {
      await c.addNode('m1');
      const s = await create(c, {
        Name: 'mon',
        TaskTemplate: { ContainerSpec: { Image: 'app:1' }, RestartPolicy: { Delay: 0 } },
        Mode: { Replicated: { Replicas: 2 } },
        UpdateConfig: { Parallelism: 1, Delay: 5 * S, Monitor: 1 * S, FailureAction: 'pause' },
      });
      await c.until('2 running', () => c.running(s.ID).length === 2);
      await setImage(c, s.ID, 'app:2');
      await c.until('first new task running', () => c.running(s.ID).some((t) => t.Spec.ContainerSpec.Image === 'app:2'));
      await settle();
      const first = c.running(s.ID).find((t) => t.Spec.ContainerSpec.Image === 'app:2')!;
      clock.advance(failAfterMs);
      await settle();
      await c.store.update((tx) => {
        const cur = tx.get('tasks', first.ID)!;
        tx.update('tasks', { ...cur, Status: { ...cur.Status, State: 'failed', Err: 'exit 1' } });
      });
      await settle();
      if (failAfterMs < 1000) {
        await c.until('paused', () => status(c, s.ID)?.State === 'paused');
      } else {
        clock.advance(5000);
        await c.until('second batch running', () => c.running(s.ID).filter((t) => t.Spec.ContainerSpec.Image === 'app:2').length === 2);
        await settle();
        clock.advance(1001);
        await c.until('completed', () => status(c, s.ID)?.State === 'completed');
      }
    } finally {
      await c.stop();
    }
  });
}

test('a new task placed on a dead host not yet marked down does not hold the update: once the node is down its replacement counts and the update completes', async () => {
  // what a leader change looks like to the updater: the old leader's host still reads 'ready' during the
  // new leader's grace window, the scheduler may place a batch's new task there, and it stays 'assigned'
  const c = new SimCluster();
  await c.start();
  try {
    for (const id of ['d1', 'd2', 'd3']) await c.addNode(id);
    const s = await create(c, {
      Name: 'deadhost',
      TaskTemplate: { ContainerSpec: { Image: 'app:1' }, RestartPolicy: { Delay: 0 } },
      Mode: { Replicated: { Replicas: 3 } },
      UpdateConfig: { Parallelism: 1, Delay: 0, Monitor: 0, Order: 'stop-first' },
    });
    await c.until('3 running, one per node', () => c.running(s.ID).length === 3 && new Set(c.running(s.ID).map((t) => t.NodeID)).size === 3);
    c.silentNodes.add('d3');
    await setImage(c, s.ID, 'app:2');
    const stuck = () => c.tasks(s.ID).find((t) => t.NodeID === 'd3' && t.Spec.ContainerSpec.Image === 'app:2' && t.Status.State === 'assigned');
    await c.until('a new task assigned to the dead host', () => stuck() !== undefined);
    const abandoned = stuck()!;
    await c.nodeDown('d3');
    await c.until('completed', () => status(c, s.ID)?.State === 'completed', 10_000);
    const running = c.running(s.ID);
    assert.deepEqual(running.map((t) => t.Slot).sort(), [1, 2, 3]);
    assert.ok(running.every((t) => t.Spec.ContainerSpec.Image === 'app:2' && t.NodeID !== 'd3'), JSON.stringify(running.map((t) => [t.Slot, t.NodeID])));
    const after = c.tasks(s.ID).find((t) => t.ID === abandoned.ID)!;
    assert.equal(after.DesiredState, 'shutdown', 'the task on the dead host was shut down by the orchestrator');
    assert.equal(after.Status.State, 'assigned', 'and never reported anything');
  } finally {
    await c.stop();
  }
});
