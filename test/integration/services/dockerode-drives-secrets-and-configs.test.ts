/**
 * dockerode against the secret/config plugins over a store whose every Raft entry is recorded: the
 * secret's bytes appear in no entry and no snapshot (neither in clear nor in base64), while configs are
 * stored as given; labels-only updates (repeating the same data is allowed, as `docker stack deploy`
 * does), filters, stale versions, bad input answered 4xx naming the field with nothing created.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { defaultSwarmSpec, ReplicatedStore } from '../../../manager/store/index.js';
import { buildServiceApi } from './api-server.js';

function recordingStore(): { store: ReplicatedStore; entries: Uint8Array[] } {
  const entries: Uint8Array[] = [];
  let store: ReplicatedStore | undefined;
  store = new ReplicatedStore({
    origin: 'rec',
    now: () => new Date().toISOString(),
    proposer: {
      isLeader: () => true,
      propose: (data) => {
        entries.push(data);
        const index = store!.appliedIndex + 1;
        store!.applyCommitted(data, index);
        return Promise.resolve({ index });
      },
    },
  });
  return { store, entries };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('secret bytes never reach a Raft entry or snapshot; labels-only updates; filters; bad input', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-secret-dode-'));
  const sock = join(dir, 'api.sock');
  const { store, entries } = recordingStore();
  await store.update((tx) => tx.create('clusters', { ID: 'cluster000000000000000001', Spec: defaultSwarmSpec(), JoinTokens: { Worker: '', Manager: '' }, RootCACert: '', RootCADigest: '' }));
  const app = buildServiceApi(store);
  const plain = `s3cr3t-${process.pid}-${Date.now()}`;
  try {
    await app.listen({ path: sock });
    const docker = new Docker({ socketPath: sock });
    const { id } = (await docker.createSecret({ Name: 'app_db_pass', Labels: { 'com.docker.stack.namespace': 'app' }, Data: b64(plain) })) as unknown as { id: string };
    assert.match(id, /^[0-9a-z]{25}$/);
    const cfg = (await docker.createConfig({ Name: 'app_conf', Labels: {}, Data: b64('server{}\n') })) as unknown as { id: string };

    // nowhere in clear: every proposed entry, the snapshot, and every GET answer
    const needles = [plain, b64(plain), Buffer.from(plain).toString('hex')];
    const haystacks = [...entries.map((e) => Buffer.from(e).toString('latin1')), Buffer.from(store.snapshot()).toString('latin1')];
    for (const h of haystacks) for (const n of needles) assert.ok(!h.includes(n), 'secret bytes found in a Raft entry or snapshot');
    assert.ok(Buffer.from(store.snapshot()).toString().includes(b64('server{}\n')), 'configs are stored as given');
    const insp = await docker.getSecret(id).inspect();
    assert.equal((insp.Spec! as { Data?: string }).Data, undefined);
    assert.deepEqual(insp.Spec!.Labels, { 'com.docker.stack.namespace': 'app' });
    const list = await docker.listSecrets();
    assert.ok(!JSON.stringify(list).includes(b64(plain)));
    assert.equal((await docker.getConfig(cfg.id).inspect()).Spec!.Data, b64('server{}\n'));

    // filters: names exact, name prefix, id prefix, label
    const names = (f: Record<string, string[]>) => docker.listSecrets({ filters: f }).then((l) => l.map((s) => s.Spec!.Name));
    assert.deepEqual(await names({ names: ['app_db'] }), []);
    assert.deepEqual(await names({ name: ['app_db'] }), ['app_db_pass']);
    assert.deepEqual(await names({ id: [id.slice(0, 6)] }), ['app_db_pass']);
    assert.deepEqual(await names({ label: ['com.docker.stack.namespace=app'] }), ['app_db_pass']);
    assert.deepEqual(await names({ label: ['com.docker.stack.namespace=other'] }), []);

    // update: the same spec again (stack deploy) is fine; new labels apply; other data refused; stale refused
    const sec = docker.getSecret(id);
    await sec.update({ version: insp.Version!.Index, Name: 'app_db_pass', Labels: { 'com.docker.stack.namespace': 'app' }, Data: b64(plain) } as never);
    const v2 = (await sec.inspect()).Version!.Index;
    await sec.update({ version: v2, Name: 'app_db_pass', Labels: { a: 'b' } } as never);
    const after = await sec.inspect();
    assert.deepEqual(after.Spec!.Labels, { a: 'b' });
    const refused = async (p: Promise<unknown> | void, status: number, re: RegExp) => {
      const e = await Promise.resolve(p).then(() => undefined, (x: { statusCode?: number; json?: { message?: string } }) => x);
      assert.equal(e?.statusCode, status, `expected ${status}`);
      assert.match(e?.json?.message ?? '', re);
    };
    await refused(sec.update({ version: after.Version!.Index, Name: 'app_db_pass', Data: b64('other') } as never), 400, /only updates to Labels are allowed/);
    await refused(sec.update({ version: after.Version!.Index, Name: 'renamed' } as never), 400, /only updates to Labels are allowed/);
    await refused(sec.update({ version: v2, Name: 'app_db_pass', Labels: {} } as never), 409, /update out of sequence/);
    const cfgObj = docker.getConfig(cfg.id);
    const cv = (await cfgObj.inspect()).Version!.Index;
    await refused(cfgObj.update({ version: cv, Name: 'app_conf', Data: b64('changed') } as never), 400, /only updates to Labels are allowed/);

    // bad input: 4xx naming the field, nothing created
    const before = store.view((tx) => tx.count('secrets') + tx.count('configs'));
    await refused(docker.createSecret({ Name: 'bad name!', Data: b64('x') }), 400, /^Name: invalid name/);
    await refused(docker.createSecret({ Name: '', Data: b64('x') }), 400, /^Name: name must be provided/);
    await refused(docker.createSecret({ Name: 'empty', Data: '' }), 400, /^Data: secret data must be larger than 0/);
    await refused(docker.createSecret({ Name: 'notb64', Data: 'not base64!' }), 400, /^Data: must be base64/);
    await refused(docker.createSecret({ Name: 'tmpl', Data: b64('x'), Templating: { Name: 'golang' } } as never), 400, /^Templating: template drivers are not supported/);
    const big = await app.inject({ method: 'POST', url: '/configs/create', payload: { Name: 'big', Data: Buffer.alloc(1000 * 1024).toString('base64') } });
    assert.equal(big.statusCode, 400);
    assert.match((big.json() as { message: string }).message, /^Data: config data must be larger than 0 and less than 1000 KB/);
    await refused(docker.createSecret({ Name: 'APP_DB_PASS', Data: b64('x') }), 409, /secret APP_DB_PASS already exists/);
    await refused(docker.getSecret('nosuch').inspect(), 404, /secret nosuch not found/);
    await refused(docker.getSecret('nosuch').remove(), 404, /secret nosuch not found/);
    assert.equal(store.view((tx) => tx.count('secrets') + tx.count('configs')), before);

    // a service may name a secret by name only (no ID): the ID is filled in; a wrong name/ID pair is refused
    const svc = await docker.createService({ Name: 'usr', TaskTemplate: { ContainerSpec: { Image: 'busybox', Secrets: [{ SecretName: 'app_db_pass' }] } } } as never);
    const spec = (await docker.getService(svc.id as string).inspect()).Spec;
    assert.equal(spec.TaskTemplate.ContainerSpec.Secrets[0].SecretID, id);
    assert.equal(spec.TaskTemplate.ContainerSpec.Secrets[0].File.Name, 'app_db_pass');
    await refused(docker.createService({ Name: 'usr2', TaskTemplate: { ContainerSpec: { Image: 'busybox', Secrets: [{ SecretID: id, SecretName: 'other' }] } } } as never), 400, /secret not found: other/);
    await refused(docker.createService({ Name: 'usr3', TaskTemplate: { ContainerSpec: { Image: 'busybox', Secrets: [{ SecretName: 'app_db_pass' }, { SecretID: id, SecretName: 'app_db_pass' }] } } } as never), 400, /conflicting target: '\/run\/secrets\/app_db_pass'/);
    await refused(docker.getSecret(id).remove(), 400, /secret 'app_db_pass' is in use by the following service: usr/);
    await docker.getService(svc.id as string).remove();
    await docker.getSecret(id).remove();
    await cfgObj.remove();
    assert.equal(store.view((tx) => tx.count('secrets') + tx.count('configs')), 0);
  } finally {
    await app.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
