// Secrets and configs reach a task's container as files — secrets under /run/secrets/<name>, configs at
// their target — with the reference's uid, gid and mode, from a tmpfs of the task's (never the node's
// disk: the secret's bytes are in no file under the data root or the exec root, nor in the container's
// inspect), and the tmpfs goes with the container. A task whose secret has not reached the node is
// rejected naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config, Secret, Task, TaskState, TaskStatus } from '../../../manager/store/index.js';
import { TaskRunner } from '../../../worker/agent/index.js';
import { EngineExecutor } from '../../../worker/executor/index.js';
import { fileTarget } from '../../../worker/executor/task-files.js';
import { openEngineHost, task, until } from './executor-fixture.js';

const meta = { Version: { Index: 1 }, CreatedAt: new Date(0).toISOString(), UpdatedAt: new Date(0).toISOString() };

function run(ex: EngineExecutor, t: Task): { states: TaskState[]; last: () => TaskStatus } {
  const states: TaskState[] = [];
  let last = t.Status;
  new TaskRunner(t, t.Status, ex, (_t, st) => {
    states.push(st.State);
    last = st;
  }, Date.now).kick();
  return { states, last: () => last };
}

test('targets: a secret\'s relative name goes under /run/secrets, a config\'s under /, absolute ones stay', () => {
  assert.equal(fileTarget('secret', 'pw'), '/run/secrets/pw');
  assert.equal(fileTarget('config', 'app.conf'), '/app.conf');
  assert.equal(fileTarget('config', '/etc/app.conf'), '/etc/app.conf');
  assert.equal(fileTarget('secret', '/etc/x/../key'), '/etc/key');
});

test('secrets and configs are files on a tmpfs of the task\'s, with uid, gid and mode; nothing in clear on disk; gone with the container', async () => {
  const h = await openEngineHost();
  try {
    const ex = new EngineExecutor({ engine: h.engine });
    const marker = `s3cret-${h.lab.prefix}-${Date.now()}`;
    const secret: Secret = { ID: 'sec000000000000000000001', Meta: meta, Spec: { Name: 'db_password', Data: Buffer.from(marker).toString('base64') } };
    const config: Config = { ID: 'cfg000000000000000000001', Meta: meta, Spec: { Name: 'app_conf', Data: Buffer.from('listen 8080\n').toString('base64') } };
    ex.setDependencies({ secret: (id) => (id === secret.ID ? secret : undefined), config: (id) => (id === config.ID ? config : undefined) });
    const t = task({
      service: 'api',
      spec: {
        ContainerSpec: {
          Image: 'busybox',
          Command: ['sh', '-c', 'md5sum /run/secrets/db_password | cut -c1-32; stat -c "%a %u %g" /run/secrets/db_password; cat /etc/app.conf; stat -c "%a %u %g" /etc/app.conf; (echo x > /run/secrets/db_password) 2>/dev/null || echo read-only'],
          Secrets: [{ SecretID: secret.ID, SecretName: 'db_password', File: { Name: 'db_password', UID: '0', GID: '0', Mode: 0o400 } }],
          Configs: [{ ConfigID: config.ID, ConfigName: 'app_conf', File: { Name: '/etc/app.conf', UID: '1000', GID: '1000', Mode: 0o440 } }],
        },
      },
    });
    const r = run(ex, t);
    await until('task complete', () => r.last().State === 'complete' || r.last().State === 'failed' || r.last().State === 'rejected');
    assert.equal(r.last().State, 'complete', JSON.stringify(r.last()));
    let out = '';
    for await (const e of ex.logs(t)) out += e.data.toString();
    // the task prints a digest of the secret, never the secret (its log is on disk)
    assert.equal(out, `${createHash('md5').update(marker).digest('hex')}\n400 0 0\nlisten 8080\n440 1000 1000\nread-only\n`);

    // not in the container's inspect, not in any file under the data root or the exec root (outside the tmpfs)
    const c = ex.containerOf(t.ID)!;
    assert.ok(!JSON.stringify(h.engine.manager.inspect(c.id)).includes(marker));
    const tmpfs = join(h.execRoot, 'swarm-files', t.ID);
    assert.ok(readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${tmpfs} `), 'the files live on a tmpfs mount');
    const grep = (dir: string, extra: string[] = []): string => {
      try {
        return execFileSync('grep', ['-rl', '--binary-files=text', ...extra, marker, dir], { encoding: 'utf8' });
      } catch (e) {
        if ((e as { status?: number }).status === 1) return '';
        throw e;
      }
    };
    // the container's rootfs is an overlay mount under the data root: look at its upper (written) layer only
    assert.equal(grep(h.dataRoot, ['--exclude-dir=merged', '--exclude-dir=rootfs']), '', 'the secret is in no file under the data root');
    assert.equal(grep(h.execRoot, ['--exclude-dir=swarm-files']), '', 'the secret is in no file under the exec root');

    await ex.remove(t);
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${tmpfs} `), 'the tmpfs is unmounted with the container');
    assert.equal(existsSync(tmpfs), false);

    // a secret the node was not sent: rejected, naming it, nothing left
    const missing = task({ service: 'api', slot: 2, spec: { ContainerSpec: { Image: 'busybox', Secrets: [{ SecretID: 'nope00000000000000000001', SecretName: 'nope', File: { Name: 'nope', UID: '0', GID: '0', Mode: 0o400 } }] } } });
    const r2 = run(ex, missing);
    await until('task rejected', () => r2.last().State === 'rejected');
    assert.equal(r2.last().Err, 'secret nope (nope00000000000000000001) is not available on this node');
    assert.equal(existsSync(join(h.execRoot, 'swarm-files', missing.ID)), false);
  } finally {
    await h.cleanup();
  }
});
