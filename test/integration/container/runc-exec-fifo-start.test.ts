/**
 * The engine's start without a `runc start` process (runtime/runc-fifo-start.ts): through the exec fifo
 * a created runc container runs and runc sees it started; an init that died is refused within the
 * deadline instead of hanging; a container that is not in the created state is refused at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFifoPath, FifoStartError, startThroughExecFifo } from '../../../worker/engine/runtime/runc-fifo-start.js';
import { removeCgroup } from '../../../worker/engine/runtime/cgroups.js';

const RUNC = '/usr/sbin/runc';

function bundle(dir: string, id: string, parent: string, args: string[]): string {
  const b = join(dir, id);
  for (const d of ['bin', 'proc', 'dev', 'sys', 'tmp']) mkdirSync(join(b, 'rootfs', d), { recursive: true });
  copyFileSync('/bin/busybox', join(b, 'rootfs', 'bin', 'busybox'));
  writeFileSync(join(b, 'config.json'), JSON.stringify({
    ociVersion: '1.0.2',
    process: { terminal: false, user: { uid: 0, gid: 0 }, args, env: ['PATH=/bin'], cwd: '/' },
    root: { path: 'rootfs', readonly: true },
    hostname: id,
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    linux: { cgroupsPath: `${parent}/${id}`, namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }, { type: 'uts' }, { type: 'network' }] },
  }));
  return b;
}

async function create(root: string, b: string, id: string): Promise<number> {
  const code = await new Promise<number | null>((resolve) => {
    const p = spawn(RUNC, ['--root', root, 'create', '--bundle', b, '--pid-file', join(b, 'pid'), id], { stdio: 'ignore' });
    p.on('exit', resolve);
  });
  assert.equal(code, 0, 'runc create');
  return Number(readFileSync(join(b, 'pid'), 'utf8'));
}

const state = (root: string, id: string): string => (JSON.parse(execFileSync(RUNC, ['--root', root, 'state', id]).toString()) as { status: string }).status;

test('a created runc container starts through its exec fifo; a dead init is refused by the deadline; no fifo is refused at once', async () => {
  if (process.getuid?.() !== 0) throw new Error('this test needs root (namespaces, cgroups)');
  if (!existsSync(RUNC)) throw new Error(`this test needs runc at ${RUNC}`);
  const dir = mkdtempSync(join(tmpdir(), 'shoal-fifo-'));
  const root = join(dir, 'state');
  const parent = `/shoal-fifo${process.pid}`;
  const ids: string[] = [];
  try {
    // 1. runs, and runc agrees it was started (no fifo: not "created" any more)
    const a = `fa${process.pid}`;
    ids.push(a);
    const ba = bundle(dir, a, parent, ['/bin/busybox', 'sh', '-c', 'echo ran > /tmp/x; sleep 30']);
    await create(root, ba, a);
    assert.equal(state(root, a), 'created');
    assert.ok(existsSync(execFifoPath(root, a)));
    await startThroughExecFifo(root, a);
    assert.equal(existsSync(execFifoPath(root, a)), false, 'the fifo is gone, as after runc start');
    assert.equal(state(root, a), 'running');
    // 2. an init that died before the start: refused when the deadline passes, the reader not left blocked
    const b = `fb${process.pid}`;
    ids.push(b);
    const bb = bundle(dir, b, parent, ['/bin/busybox', 'true']);
    const pid = await create(root, bb, b);
    process.kill(pid, 'SIGKILL');
    await assert.rejects(startThroughExecFifo(root, b, 500), (e: unknown) => e instanceof FifoStartError && /did not answer|without a word/.test(e.message));
    // 3. a container that is not in the created state
    await assert.rejects(startThroughExecFifo(root, a), (e: unknown) => e instanceof FifoStartError && /not in the created state/.test(e.message));
  } finally {
    for (const id of ids) execFileSync(RUNC, ['--root', root, 'delete', '--force', id], { stdio: 'ignore' });
    for (const id of ids) await removeCgroup(parent, id, { andParent: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
