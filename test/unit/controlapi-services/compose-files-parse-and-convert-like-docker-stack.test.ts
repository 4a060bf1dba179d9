/**
 * Compose files for `shoal stack deploy`: interpolation rules, clear errors naming the place (unknown
 * top-level key, bad port, missing secret file, undefined variable without default), and conversion into
 * the objects the docker CLI makes (names, namespace labels, networks by name with aliases, default
 * network, volumes, secrets/configs, deploy options).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ComposeError, interpolate, parseCompose, parseDotEnv } from '../../../cli/shoal/stack-compose.js';
import { convertStack, parsePorts, shellSplit } from '../../../cli/shoal/stack-convert.js';

const files: Record<string, string> = { '/app/pw.txt': 's3cret\n', '/app/nginx.conf': 'server {}\n', '/app/web.env': '# c\nA=1\nB=two\n' };
const read = (p: string): Buffer => {
  if (!(p in files)) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
  return Buffer.from(files[p]!);
};

test('interpolation: defaults, required, $$, .env; an undefined variable without default is an error naming the place', () => {
  const env = { TAG: '1.2', EMPTY: '' };
  assert.equal(interpolate('app:${TAG}', env, 'x'), 'app:1.2');
  assert.equal(interpolate('app:$TAG', env, 'x'), 'app:1.2');
  assert.equal(interpolate('${NOPE:-latest}', env, 'x'), 'latest');
  assert.equal(interpolate('${EMPTY:-d}|${EMPTY-d}', env, 'x'), 'd|');
  assert.equal(interpolate('cost $$5', env, 'x'), 'cost $5');
  assert.throws(() => interpolate('${NOPE}', env, 'services.web.image'), /^ComposeError: services\.web\.image: variable NOPE is not set and has no default$/);
  assert.throws(() => interpolate('${NOPE:?set it}', env, 'services.web.image'), /required variable NOPE is missing a value: set it/);
  assert.deepEqual(parseDotEnv('# x\nA=1\nexport B="two words"\n\nC=\'q\'\n'), { A: '1', B: 'two words', C: 'q' });
  assert.throws(() => parseCompose('services:\n  web:\n    image: app:${TAG2}\n', {}, '/app'), /services\.web\.image: variable TAG2 is not set/);
});

test('bad input: unknown top-level key, unknown service key, bad port, missing secret file, undeclared network', () => {
  assert.throws(() => parseCompose('services: {web: {image: a}}\nbogus: 1\n', {}, '/app'), /compose\.yml: unknown top-level key "bogus"/);
  assert.throws(() => parseCompose('services: {web: {image: a, imag: b}}\n', {}, '/app'), /services\.web: unknown key "imag"/);
  assert.throws(() => parseCompose('services: {web: {build: .}}\n', {}, '/app'), /services\.web\.image: an image is required/);
  assert.throws(() => parseCompose('services: [', {}, '/app'), /not valid YAML \(line 1/);
  const bad = parseCompose('services:\n  web:\n    image: a\n    ports: ["80:abc"]\n', {}, '/app');
  assert.throws(() => convertStack(bad, 'app', { read }), /services\.web\.ports\[0\]: invalid port "80:abc"/);
  assert.throws(() => parsePorts(['70000:80'], 'p'), /p\[0\]: invalid port "70000:80" \(1-65535\)/);
  const noFile = parseCompose('services: {web: {image: a, secrets: [pw]}}\nsecrets: {pw: {file: ./missing.txt}}\n', {}, '/app');
  assert.throws(() => convertStack(noFile, 'app', { read }), /secrets\.pw\.file: \.\/missing\.txt: no such file/);
  const undeclared = parseCompose('services: {web: {image: a, networks: [front]}}\n', {}, '/app');
  assert.throws(() => convertStack(undeclared, 'app', { read }), /services\.web\.networks: network "front" is not declared/);
  assert.throws(() => convertStack(parseCompose('services: {web: {image: a}}\n', {}, '/app'), 'bad name!', { read }), ComposeError);
});

test('conversion: names, namespace labels, networks with aliases, default network, volumes, secrets, configs, deploy', () => {
  const text = `
version: "3.8"
services:
  web:
    image: nginx:\${TAG:-alpine}
    command: nginx -g "daemon off;"
    ports: ["8080:80", {target: 443, published: 8443, mode: host}, "9000-9001:9000-9001/udp"]
    networks: {front: {aliases: [www]}}
    env_file: web.env
    environment: {C: "3"}
    configs: [{source: nginx_conf, target: /etc/nginx/nginx.conf, mode: 0440}]
    deploy:
      replicas: 3
      placement: {constraints: [node.role==worker], preferences: [{spread: node.labels.zone}]}
      resources: {limits: {cpus: "0.5", memory: 64M}}
      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3}
      update_config: {parallelism: 2, delay: 10s, order: start-first}
      labels: [tier=front]
    healthcheck: {test: "wget -q -O- localhost", interval: 30s, retries: 3}
  db:
    image: redis:7
    volumes: [dbdata:/data, ./conf:/conf:ro]
    secrets: [db_pass]
    networks: [back]
  worker:
    image: busybox
    deploy: {mode: global}
networks: {front: {}, back: {internal: true}}
volumes: {dbdata: {}}
secrets: {db_pass: {file: ./pw.txt}}
configs: {nginx_conf: {file: ./nginx.conf}}
`;
  const plan = convertStack(parseCompose(text, {}, '/app'), 'app', { read });
  assert.deepEqual(plan.networks.map((n) => n.name), ['app_back', 'app_default', 'app_front']);
  assert.deepEqual(plan.networks.find((n) => n.name === 'app_back')!.body, { Name: 'app_back', Driver: 'overlay', Labels: { 'com.docker.stack.namespace': 'app' }, Attachable: false, Internal: true, Options: {}, CheckDuplicate: true });
  assert.deepEqual(plan.secrets[0]!.body, { Name: 'app_db_pass', Labels: { 'com.docker.stack.namespace': 'app' }, Data: Buffer.from('s3cret\n').toString('base64') });
  assert.equal(plan.configs[0]!.name, 'app_nginx_conf');
  const web = plan.services.find((s) => s.name === 'app_web')!.spec as Record<string, any>;
  assert.deepEqual(web.Labels, { tier: 'front', 'com.docker.stack.image': 'nginx:alpine', 'com.docker.stack.namespace': 'app' });
  const cs = web.TaskTemplate.ContainerSpec;
  assert.equal(cs.Image, 'nginx:alpine');
  assert.deepEqual(cs.Args, ['nginx', '-g', 'daemon off;']);
  assert.deepEqual(cs.Env, ['A=1', 'B=two', 'C=3']);
  assert.deepEqual(cs.Labels, { 'com.docker.stack.namespace': 'app' });
  assert.deepEqual(cs.Configs, [{ ConfigName: 'app_nginx_conf', File: { Name: '/etc/nginx/nginx.conf', UID: '0', GID: '0', Mode: 0o440 } }]);
  assert.deepEqual(cs.Healthcheck, { Test: ['CMD-SHELL', 'wget -q -O- localhost'], Interval: 30e9, Retries: 3 });
  assert.deepEqual(web.TaskTemplate.Networks, [{ Target: 'app_front', Aliases: ['web', 'www'] }]);
  assert.deepEqual(web.TaskTemplate.Placement, { Constraints: ['node.role==worker'], Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }] });
  assert.deepEqual(web.TaskTemplate.Resources, { Limits: { NanoCPUs: 5e8, MemoryBytes: 64 * 2 ** 20 }, Reservations: {} });
  assert.deepEqual(web.TaskTemplate.RestartPolicy, { Condition: 'on-failure', Delay: 5e9, MaxAttempts: 3 });
  assert.deepEqual(web.UpdateConfig, { Parallelism: 2, Delay: 10e9, Order: 'start-first' });
  assert.deepEqual(web.Mode, { Replicated: { Replicas: 3 } });
  assert.deepEqual(web.EndpointSpec.Ports, [
    { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' },
    { Protocol: 'tcp', TargetPort: 443, PublishedPort: 8443, PublishMode: 'host' },
    { Protocol: 'udp', TargetPort: 9000, PublishedPort: 9000, PublishMode: 'ingress' },
    { Protocol: 'udp', TargetPort: 9001, PublishedPort: 9001, PublishMode: 'ingress' },
  ]);
  const db = plan.services.find((s) => s.name === 'app_db')!.spec as Record<string, any>;
  assert.deepEqual(db.TaskTemplate.ContainerSpec.Mounts, [
    { Type: 'volume', Source: 'app_dbdata', Target: '/data', VolumeOptions: { Labels: { 'com.docker.stack.namespace': 'app' } } },
    { Type: 'bind', Source: '/app/conf', Target: '/conf', ReadOnly: true },
  ]);
  assert.deepEqual(db.TaskTemplate.ContainerSpec.Secrets, [{ SecretName: 'app_db_pass', File: { Name: 'db_pass', UID: '0', GID: '0', Mode: 0o444 } }]);
  assert.deepEqual(db.TaskTemplate.Networks, [{ Target: 'app_back', Aliases: ['db'] }]);
  assert.deepEqual(db.Mode, { Replicated: {} });
  const worker = plan.services.find((s) => s.name === 'app_worker')!.spec as Record<string, any>;
  assert.deepEqual(worker.Mode, { Global: {} });
  assert.deepEqual(worker.TaskTemplate.Networks, [{ Target: 'app_default', Aliases: ['worker'] }]);
  assert.deepEqual(shellSplit(`sh -c 'echo "hi there"' a\\ b`, 'x'), ['sh', '-c', 'echo "hi there"', 'a b']);
});
