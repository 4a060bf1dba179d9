// "Nothing acknowledged is lost on kill -9": a child process appends to a DiskStorage with mustSync
// and acknowledges each batch; killed with SIGKILL at an arbitrary point (three times in a row, on the
// same directory), the storage reopens and holds every acknowledged entry, intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DiskStorage } from '../../../manager/raft/disk-storage.js';
import { scratchDir } from './helpers.js';
import { kill9Payload } from './kill9-writer.js';

const writer = fileURLToPath(new URL('./kill9-writer.js', import.meta.url));

/** Runs the writer until it has acknowledged at least `acks` batches past its start, then SIGKILLs it. */
function runAndKill(dir: string, term: number, acks: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [writer, dir, String(term)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let seen = 0;
    let acked = -1;
    let killed = false;
    const deadline = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`writer made no progress: ${err}`)); }, 50_000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line.startsWith('ack ')) {
          acked = Number(line.slice(4));
          if (++seen >= acks && !killed) { killed = true; child.kill('SIGKILL'); }
        }
      }
    });
    child.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
    child.on('exit', (code, signal) => {
      clearTimeout(deadline);
      if (signal === 'SIGKILL' && killed) resolve(acked);
      else reject(new Error(`writer exited (${code ?? signal}) before it was killed: ${err}`));
    });
  });
}

test('kill -9 during group-committed writes never loses an acknowledged entry', async () => {
  const { dir, cleanup } = scratchDir('kill9');
  try {
    for (const [term, acks] of [[1, 150], [2, 97], [3, 211]] as const) {
      const acked = await runAndKill(dir, term, acks);
      const ds = DiskStorage.openSync(dir, {});
      try {
        const m = ds.storage;
        assert.ok(m.lastIndex() >= acked, `round ${term}: last index ${m.lastIndex()} < acknowledged ${acked}`);
        const first = m.firstIndex();
        for (const e of m.entries(first, acked + 1, Number.MAX_SAFE_INTEGER)) {
          assert.deepEqual(e.data, kill9Payload(e.index, e.term), `round ${term}: entry ${e.index}`);
        }
        assert.ok(m.hardState().commit >= acked);
        assert.deepEqual(m.initialState().confState.voters, [1]);
      } finally {
        ds.close();
      }
    }
  } finally {
    cleanup();
  }
});
