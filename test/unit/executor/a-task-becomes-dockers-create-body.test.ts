// The pure mapping of a swarm Task to a container (worker/executor/container-spec.ts), as moby's swarm
// executor builds it: name, labels, the create body's fields, host-mode ports only, overlay endpoints
// with their addresses, and Docker's service templates in hostname, env and mounts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Task } from '../../../manager/store/index.js';
import { containerName, createPlan, expandTaskTemplates, expandTemplate, stopGraceSeconds } from '../../../worker/executor/index.js';

function t(over: Partial<Task> = {}, spec: Partial<Task['Spec']['ContainerSpec']> = {}): Task {
  return {
    ID: 'task00000000000000000001',
    Meta: { Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '' },
    ServiceID: 'svc000000000000000000001',
    Slot: 2,
    NodeID: 'node00000000000000000001',
    Spec: { ContainerSpec: { Image: 'busybox', ...spec } },
    DesiredState: 'running',
    Status: { Timestamp: '', State: 'assigned', Message: '' },
    ServiceAnnotations: { Name: 'web', Labels: { 'com.docker.stack.namespace': 'shop', tier: 'front' } },
    ...over,
  };
}

test('name and labels: <service>.<slot>.<task>, global tasks by node; swarm labels win over the spec\'s', () => {
  assert.equal(containerName(t()), 'web.2.task00000000000000000001');
  assert.equal(containerName(t({ Slot: 0 })), 'web.node00000000000000000001.task00000000000000000001');
  const p = createPlan(t({}, { Labels: { mine: '1', 'com.docker.swarm.task.id': 'forged' } }));
  assert.deepEqual(p.body.Labels, {
    mine: '1',
    'com.docker.stack.namespace': 'shop',
    'com.docker.swarm.task': '',
    'com.docker.swarm.task.id': 'task00000000000000000001',
    'com.docker.swarm.task.name': 'web.2.task00000000000000000001',
    'com.docker.swarm.node.id': 'node00000000000000000001',
    'com.docker.swarm.service.id': 'svc000000000000000000001',
    'com.docker.swarm.service.name': 'web',
  });
});

test('the create body: command/args, env, user, dir, limits, mounts, stop options, health; only host-mode ports; overlays with addresses', () => {
  const task = t(
    { Endpoint: { Spec: {}, Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' }, { Protocol: 'udp', TargetPort: 53, PublishedPort: 30053, PublishMode: 'ingress' }] } },
    {
      Command: ['httpd'], Args: ['-f'], Env: ['A=1'], User: 'nobody', Dir: '/srv', Hostname: 'h', TTY: true, ReadOnly: true,
      StopSignal: 'SIGQUIT', StopGracePeriod: 2_500_000_000,
      Mounts: [{ Type: 'volume', Source: 'data', Target: '/data', ReadOnly: true }, { Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 1024 } }],
      Healthcheck: { Test: ['CMD', 'true'], Interval: 1e9, Retries: 2 },
    },
  );
  task.Spec.Resources = { Limits: { NanoCPUs: 5e8, MemoryBytes: 1 << 26, Pids: 10 } };
  const { body } = createPlan(task, [{ network: 'net1', address: '10.0.1.5', aliases: ['api'] }]);
  assert.deepEqual(body.Entrypoint, ['httpd']);
  assert.deepEqual(body.Cmd, ['-f']);
  assert.deepEqual(body.Env, ['A=1']);
  assert.equal(body.User, 'nobody');
  assert.equal(body.WorkingDir, '/srv');
  assert.equal(body.Hostname, 'h');
  assert.equal(body.Tty, true);
  assert.equal(body.StopSignal, 'SIGQUIT');
  assert.equal(body.StopTimeout, 3, 'grace period rounded up to whole seconds');
  assert.equal(stopGraceSeconds(task), 2.5);
  assert.deepEqual(body.Healthcheck, { Test: ['CMD', 'true'], Interval: 1e9, Retries: 2 });
  assert.equal(body.HostConfig?.Memory, 1 << 26);
  assert.equal(body.HostConfig?.NanoCpus, 5e8);
  assert.equal(body.HostConfig?.PidsLimit, 10);
  assert.equal(body.HostConfig?.ReadonlyRootfs, true);
  assert.deepEqual(body.HostConfig?.Mounts, [{ Type: 'volume', Source: 'data', Target: '/data', ReadOnly: true }, { Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 1024 } }]);
  assert.deepEqual(body.HostConfig?.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '8080' }] }, 'ingress ports go through the routing mesh, not here');
  assert.deepEqual(body.ExposedPorts, { '80/tcp': {} });
  assert.equal(body.HostConfig?.NetworkMode, 'bridge');
  assert.deepEqual(body.NetworkingConfig, { EndpointsConfig: { net1: { Aliases: ['api'], IPAMConfig: { IPv4Address: '10.0.1.5' } } } });
  assert.equal(createPlan(t()).body.StopTimeout, 10, "Docker's default grace period");
});

test('templates in hostname, env and mounts expand from the service, node and task; others stay as written', () => {
  const task = t({}, {
    Hostname: '{{.Node.Hostname}}-{{.Service.Name}}-{{.Task.Slot}}',
    Env: ['ID={{.Task.ID}}', 'TIER={{index .Service.Labels "tier"}}', 'KEEP={{.Unknown}}', 'PLAIN=1'],
    Mounts: [{ Type: 'volume', Source: 'data-{{.Task.Slot}}', Target: '/data/{{.Service.ID}}' }],
  });
  const x = expandTaskTemplates(task, { hostname: 'host1' });
  assert.equal(x.Spec.ContainerSpec.Hostname, 'host1-web-2');
  assert.deepEqual(x.Spec.ContainerSpec.Env, ['ID=task00000000000000000001', 'TIER=front', 'KEEP={{.Unknown}}', 'PLAIN=1']);
  assert.deepEqual(x.Spec.ContainerSpec.Mounts, [{ Type: 'volume', Source: 'data-2', Target: '/data/svc000000000000000000001' }]);
  assert.equal(expandTemplate('{{ .Task.Name }}', task, { hostname: 'h' }), 'web.2.task00000000000000000001');
  const plain = t();
  assert.equal(expandTaskTemplates(plain, { hostname: 'h' }), plain, 'a task without templates is returned as it is');
});
