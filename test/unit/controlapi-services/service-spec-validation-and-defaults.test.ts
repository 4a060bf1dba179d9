import { test } from 'node:test';
import assert from 'node:assert/strict';
import { insertDefaults, validateServiceSpec, validateServiceUpdate, ValidationError } from '../../../manager/controlapi/validate.js';
import { parseFilters } from '../../../manager/controlapi/service-routes.js';

const base = { Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'busybox' } } };
const refuses = (body: unknown, re: RegExp) =>
  assert.throws(() => validateServiceSpec(body), (e: unknown) => e instanceof ValidationError && e.status === 400 && re.test(e.message));

test('mode defaults: nothing or {} → Replicated 1; Replicated without Replicas → 1; job counts default', () => {
  assert.deepEqual(validateServiceSpec(base).Mode, { Replicated: { Replicas: 1 } });
  assert.deepEqual(validateServiceSpec({ ...base, Mode: {} }).Mode, { Replicated: { Replicas: 1 } });
  assert.deepEqual(validateServiceSpec({ ...base, Mode: { Replicated: {} } }).Mode, { Replicated: { Replicas: 1 } });
  assert.deepEqual(validateServiceSpec({ ...base, Mode: { ReplicatedJob: {} } }).Mode, { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } });
  assert.deepEqual(validateServiceSpec({ ...base, Mode: { ReplicatedJob: { MaxConcurrent: 3 } } }).Mode, { ReplicatedJob: { MaxConcurrent: 3, TotalCompletions: 3 } });
  assert.deepEqual(validateServiceSpec({ ...base, Mode: { Global: {} } }).Mode, { Global: {} });
});

test('endpoint defaults: vip, tcp, ingress', () => {
  const s = validateServiceSpec({ ...base, EndpointSpec: { Ports: [{ TargetPort: 80 }] } });
  assert.deepEqual(s.EndpointSpec, { Mode: 'vip', Ports: [{ TargetPort: 80, Protocol: 'tcp', PublishMode: 'ingress' }] });
  assert.deepEqual(validateServiceSpec(base).EndpointSpec, { Mode: 'vip' });
});

test('refusals name the field and the problem', () => {
  refuses({ ...base, Mode: { Replicated: { Replicas: -1 } } }, /^Mode\.Replicated\.Replicas: -1 must be non-negative$/);
  refuses({ ...base, Mode: { Replicated: { Replicas: 1.5 } } }, /^Mode\.Replicated\.Replicas: 1\.5 is not an integer$/);
  refuses({ ...base, Mode: { Sharded: {} } }, /^Mode: unknown mode "Sharded"/);
  refuses({ ...base, TaskTemplate: { ContainerSpec: { Image: 'x' }, Placement: { Constraints: ['node.role==boss'] } } }, /Constraints\[0\]: .*node\.role is manager or worker/);
  refuses({ ...base, TaskTemplate: { ContainerSpec: { Image: 'x' }, Placement: { Preferences: [{ Spread: { SpreadDescriptor: 'zone' } }] } } }, /Preferences\[0\]\.Spread\.SpreadDescriptor/);
  refuses({ ...base, EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }, { TargetPort: 81, PublishedPort: 8080 }] } }, /Ports\[1\]\.PublishedPort: port 8080\/tcp is published more than once/);
  refuses({ ...base, EndpointSpec: { Mode: 'dnsrr', Ports: [{ TargetPort: 80, PublishedPort: 8080 }] } }, /ingress ports are not possible with EndpointSpec\.Mode dnsrr/);
  refuses({ ...base, EndpointSpec: { Ports: [{ TargetPort: 80, Protocol: 'icmp' }] } }, /Ports\[0\]\.Protocol: "icmp"/);
  refuses({ ...base, TaskTemplate: { ContainerSpec: { Image: 'x' }, RestartPolicy: { Condition: 'always' } } }, /RestartPolicy\.Condition: "always" is not none, on-failure or any/);
  refuses({ ...base, UpdateConfig: { MaxFailureRatio: 2 } }, /UpdateConfig\.MaxFailureRatio: 2 must be a number between 0 and 1/);
  refuses({ ...base, Mode: { ReplicatedJob: {} }, UpdateConfig: { Parallelism: 1 } }, /UpdateConfig: jobs cannot have an update config/);
  refuses('nope', /ServiceSpec object is required/);
  refuses({ TaskTemplate: base.TaskTemplate }, /^Name: a service name is required$/);
});

test('updates may not rename or change the mode kind', () => {
  const a = validateServiceSpec(base);
  assert.throws(() => validateServiceUpdate(a, { ...a, Name: 'b' }), /renaming services is not supported/);
  assert.throws(() => validateServiceUpdate(a, { ...a, Mode: { Global: {} } }), /service mode change is not allowed \(Replicated → Global\)/);
  validateServiceUpdate(a, { ...a, Mode: { Replicated: { Replicas: 9 } } });
});

test('insertDefaults: SwarmKit update/rollback/restart defaults; jobs restart on-failure and have no update config', () => {
  const s = insertDefaults(validateServiceSpec({ ...base, UpdateConfig: { Parallelism: 3 } }));
  assert.equal(s.UpdateConfig?.Parallelism, 3);
  assert.equal(s.UpdateConfig?.Order, 'stop-first');
  assert.equal(s.RollbackConfig?.Parallelism, 1);
  assert.equal(s.TaskTemplate.ContainerSpec.StopGracePeriod, 10e9);
  const j = insertDefaults(validateServiceSpec({ ...base, Mode: { ReplicatedJob: {} } }));
  assert.equal(j.UpdateConfig, undefined);
  assert.equal(j.TaskTemplate.RestartPolicy?.Condition, 'on-failure');
});

test('filters accept the CLI and dockerode wire formats; unknown keys are refused', () => {
  assert.deepEqual([...parseFilters('{"service":{"web":true}}', ['service'])], [['service', ['web']]]);
  assert.deepEqual([...parseFilters('{"service":["web","db"]}', ['service'])], [['service', ['web', 'db']]]);
  assert.throws(() => parseFilters('{"colour":["x"]}', ['service']), /invalid filter 'colour'/);
  assert.throws(() => parseFilters('{', ['service']), /filters: invalid JSON/);
});
