// The worker entry point end to end with real parts: a Dispatcher served over gRPC + mTLS on a
// standalone store, startWorker with the EngineExecutor on a real Engine. Tasks in the store become
// running containers; then shoald "restarts" (worker stopped, engine closed and opened again) while the
// manager removed one of its tasks; the restarted worker adopts the container of the task it still has
// (same container, never re-created), removes the container of the removed task and the container of a
// task it never recorded, and a desired-state change still reaches the adopted task.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { RootCA } from '../../../manager/ca/root-ca.js';
import { createKeyAndCSR, type NodeRole } from '../../../manager/ca/identity.js';
import { channelCredentials, serverCredentials, type TlsIdentity } from '../../../manager/ca/tls-credentials.js';
import { Dispatcher, dispatcherService } from '../../../manager/dispatcher/index.js';
import { createStandaloneStore, type Task } from '../../../manager/store/index.js';
import { startWorker, type WorkerHandle } from '../../../worker/agent/index.js';
import { EngineExecutor, LABEL_TASK_ID } from '../../../worker/executor/index.js';
import { addNodes, quietLog, taskObject } from '../../unit/dispatcher/fixtures.js';
import { openEngineHost, until } from './executor-fixture.js';

const CLUSTER = 'testcluster';

async function cert(ca: RootCA, nodeId: string, role: NodeRole): Promise<TlsIdentity> {
  const { keyPem, csrPem } = await createKeyAndCSR();
  return { keyPem, certPem: await ca.signCSR(csrPem, { nodeId, role, clusterId: CLUSTER, now: new Date() }) };
}

test('a restarted worker adopts the containers of its tasks, removes those of tasks it no longer has, and keeps following its assignments', async () => {
  const h = await openEngineHost();
  const ca = await RootCA.create({ clusterId: CLUSTER, now: new Date() });
  const store = createStandaloneStore({ now: () => new Date().toISOString() });
  const dispatcher = new Dispatcher({ heartbeatPeriodMs: 500 });
  const server = new grpc.Server();
  let worker: WorkerHandle | undefined;
  try {
    const svc = dispatcherService(dispatcher);
    server.addService(svc.definition, svc.implementation);
    const managerId = await cert(ca, 'manager1', 'manager');
    const port = await new Promise<number>((res, rej) =>
      server.bindAsync('127.0.0.1:0', serverCredentials(managerId, ca.certPem), (e, p) => (e ? rej(e) : res(p))),
    );
    dispatcher.start({ store, now: Date.now, random: Math.random, log: quietLog, nodeId: 'manager1' });
    const nodeId = 'worker000000000000000001';
    await addNodes(store, [nodeId]);
    const mk = (service: string, slot: number): Omit<Task, 'Meta'> => {
      const t = taskObject({ nodeId, service, slot });
      return { ...t, Spec: { ContainerSpec: { Image: 'busybox:latest', Command: ['sleep', '1000'], StopGracePeriod: 0 } } };
    };
    const keep = mk('web', 1);
    const drop = mk('web', 2);
    await store.update((tx) => {
      tx.create('tasks', keep);
      tx.create('tasks', drop);
    });
    const credentials = channelCredentials(await cert(ca, nodeId, 'worker'), ca.certPem);
    const start = () => startWorker({ engine: h.engine, dataDir: h.dataRoot, managers: [`127.0.0.1:${port}`], credentials, nodeId, log: quietLog, backoff: { baseMs: 20, maxMs: 200 } });
    const stateOf = (id: string) => store.view((tx) => tx.get('tasks', id)?.Status.State);

    worker = await start();
    await until('both tasks running', () => stateOf(keep.ID) === 'running' && stateOf(drop.ID) === 'running');
    assert.equal(store.view((tx) => tx.get('nodes', nodeId)!.Status.State), 'ready');
    const ex1 = worker.executor as EngineExecutor;
    const keptContainer = ex1.containerOf(keep.ID)!.id;
    assert.equal(store.view((tx) => tx.get('tasks', keep.ID)!.Status.ContainerStatus?.ContainerID), keptContainer);

    // shoald goes down: the worker stops, the engine closes; containers keep running
    await worker.stop();
    worker = undefined;
    await h.reopen();
    // meanwhile: the manager deletes one task, and a container of a task never recorded is on the node
    await store.update((tx) => tx.delete('tasks', drop.ID));
    const strayTask = 'stray00000000000000000001';
    const stray = await h.engine.manager.create({ Image: 'busybox', Cmd: ['sleep', '1000'], Labels: { [LABEL_TASK_ID]: strayTask }, HostConfig: { NetworkMode: 'bridge' } }, `web.9.${strayTask}`);
    await h.engine.manager.start(stray.Id);
    const plain = await h.engine.manager.create({ Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'none' } }, `plain-${h.lab.prefix}`);

    worker = await start();
    const ex2 = worker.executor as EngineExecutor;
    await until('the dropped and the stray containers are removed', () => !ex2.containerOf(drop.ID) && !ex2.containerOf(strayTask));
    const adopted = ex2.containerOf(keep.ID)!;
    assert.equal(adopted.id, keptContainer, 'the kept task\'s container is adopted, not re-created');
    assert.equal(adopted.state.status, 'running');
    assert.equal([...ex2.taskContainers().keys()].join(','), keep.ID, 'one container per task, no duplicate, no orphan');
    assert.ok(h.engine.manager.store.find(plain.Id), 'a container that is not a swarm task is left alone');
    assert.equal(stateOf(keep.ID), 'running');

    // the adopted task still follows its assignments
    await store.update((tx) => tx.update('tasks', { ...tx.get('tasks', keep.ID)!, DesiredState: 'shutdown' }));
    await until('adopted task shut down', () => stateOf(keep.ID) === 'shutdown');
    assert.equal(ex2.containerOf(keep.ID)!.state.status, 'exited');
    await h.engine.manager.remove(plain.Id, { force: true });
  } finally {
    await worker?.stop();
    await dispatcher.stop();
    server.forceShutdown();
    store.close();
    await h.cleanup();
  }
});
