// DiskStorage restart, torn tail, corrupt snapshot and sync tests (disk-storage-suite.ts) against
// the core's MemoryStorage, which is what the RawNode reads in production; and it is the default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage } from '../../../manager/raft/core/memory-storage.js';
import { DiskStorage } from '../../../manager/raft/disk-storage.js';
import { diskStorageSuite } from './disk-storage-suite.js';
import { scratchDir } from './helpers.js';

diskStorageSuite('core MemoryStorage', MemoryStorage);

test('without a memory class, DiskStorage keeps its state in the core MemoryStorage', async () => {
  const { dir, cleanup } = scratchDir('ds-default');
  try {
    const ds = await DiskStorage.open(dir, { fsync: false, segmentBytes: 1 << 16, preallocate: false });
    assert.ok(ds.storage instanceof MemoryStorage);
    ds.bootstrap([3, 1, 2]);
    ds.close();
    const again = await DiskStorage.open(dir, { fsync: false, segmentBytes: 1 << 16, preallocate: false });
    assert.ok(again.storage instanceof MemoryStorage);
    assert.deepEqual(again.storage.initialState().confState.voters, [1, 2, 3]);
    again.close();
  } finally {
    cleanup();
  }
});
