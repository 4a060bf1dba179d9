// Runs every compiled test file (dist/test/**/*.test.js) with node's own test runner.
// Usage: node test/run.mjs [substring-filter ...]
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const distTest = join(root, 'dist', 'test');
const filters = process.argv.slice(2);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

// A compiled test whose source is gone (renamed or deleted since the last build) is not run.
const hasSource = (f) => existsSync(join(root, relative(join(root, 'dist'), f).replace(/\.js$/, '.ts')));
const files = walk(distTest)
  .filter(hasSource)
  .filter((f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files found under dist/test (did the build run?)');
  process.exit(1);
}
// One runner invocation, so that its closing summary covers every test. Tests use unique names for
// everything they create in the kernel, so files may run side by side.
const concurrency = process.env.SHOAL_TEST_CONCURRENCY ?? '2';
// A deadline per test file (node applies --test-timeout to each file as well as to each test in it): a
// file that hangs fails with 'test timed out' and the run goes on, instead of holding the whole suite
// until CI kills it. The longest files take ~1-2 min on 2 loaded cores.
const timeoutMs = process.env.SHOAL_TEST_TIMEOUT_MS ?? '300000';
const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, `--test-timeout=${timeoutMs}`, ...files], {
  stdio: 'inherit',
  cwd: root,
});
process.exit(r.status ?? 1);
