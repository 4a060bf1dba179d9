// Child process for disk-storage-kill-9.test.ts: appends batches to a DiskStorage with mustSync and
// reports each acknowledged last index on stdout ("ack <index>\n", written synchronously), forever,
// until it is killed. Takes a snapshot (and compacts) every so often.
//   node kill9-writer.js <dir> <term>
import { writeSync } from 'node:fs';
import type { Entry } from '../../../manager/raft/core/types.js';
import { DiskStorage } from '../../../manager/raft/disk-storage.js';

/** The payload the test expects for entry (index, term). */
export function kill9Payload(index: number, term: number): Uint8Array {
  return Uint8Array.from({ length: 8 + (index % 200) }, (_, k) => (index * 13 + term * 7 + k) & 0xff);
}

function main(dir: string, term: number): void {
  const ds = DiskStorage.openSync(dir, { segmentBytes: 64 * 1024 });
  if (ds.isNew()) ds.bootstrap([1]);
  writeSync(1, `ready ${ds.storage.lastIndex()}\n`);
  for (let batch = 0; ; batch++) {
    const from = ds.storage.lastIndex() + 1;
    const n = 1 + (batch % 17);
    const ents: Entry[] = [];
    for (let i = from; i < from + n; i++) ents.push({ term, index: i, type: 0, data: kill9Payload(i, term) });
    const last = from + n - 1;
    ds.saveSync({ hardState: { term, vote: 1, commit: last }, entries: ents, mustSync: true });
    writeSync(1, `ack ${last}\n`);
    if (batch % 40 === 39) {
      ds.createSnapshot(last, undefined, new TextEncoder().encode(`snap ${last}`));
      ds.compact(Math.max(ds.storage.firstIndex(), last - 20));
    }
  }
}

if (process.argv[1]?.endsWith('kill9-writer.js')) main(process.argv[2]!, Number(process.argv[3]));
