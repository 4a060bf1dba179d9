// DiskStorage restart, torn tail, corrupt snapshot and sync tests (disk-storage-suite.ts) against a
// stand-in with MemoryStorage's semantics.
import { diskStorageSuite } from './disk-storage-suite.js';
import { FakeMemoryStorage } from './fake-memory-storage.js';

diskStorageSuite('stand-in memory storage', FakeMemoryStorage);
