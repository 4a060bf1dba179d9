/**
 * A real registry for tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1:<free port> with
 * a temporary storage dir, optionally behind htpasswd Basic auth (the registry provisions the file
 * itself with user "docker" and a random password, which it logs once; we read it from there) or
 * behind token auth (`tokenAuth`: realm, service, issuer and the PEM of the certificate the tokens are
 * signed with). `close()` kills it and removes the dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export interface TokenAuthConfig {
  realm: string;
  service: string;
  issuer: string;
  certPem: string;
}

export interface RegistryFixture {
  port: number;
  /** "127.0.0.1:<port>" (or the `listen` address) */
  host: string;
  dir: string;
  /** htpasswd mode: the provisioned user's credentials */
  user?: { username: string; password: string };
  log(): string;
  close(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Where the registry listens: 127.0.0.1 by default, or an address inside a network namespace the test made. */
export interface RegistryListen {
  /** a name under /run/netns (ip netns add) */
  netns: string;
  address: string;
}

export async function startRegistry(opts: { auth?: 'none' | 'htpasswd'; token?: TokenAuthConfig; listen?: RegistryListen } = {}): Promise<RegistryFixture> {
  if (!existsSync(REGISTRY_BIN)) throw new Error(`this test needs ${REGISTRY_BIN} (deploy/setup-host.sh installs docker-registry)`);
  const dir = await mkdtemp(join(tmpdir(), 'shoal-registry-'));
  const port = await freePort();
  const lines = ['version: 0.1', 'log:', '  level: info', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'data')}`, '  delete:', '    enabled: true', 'http:', `  addr: ${opts.listen?.address ?? '127.0.0.1'}:${port}`, `  secret: ${Math.random().toString(36).slice(2)}`];
  if (opts.auth === 'htpasswd') lines.push('auth:', '  htpasswd:', '    realm: basic-realm', `    path: ${join(dir, 'htpasswd')}`);
  if (opts.token !== undefined) {
    await writeFile(join(dir, 'token.crt'), opts.token.certPem);
    lines.push('auth:', '  token:', `    realm: ${opts.token.realm}`, `    service: ${opts.token.service}`, `    issuer: ${opts.token.issuer}`, `    rootcertbundle: ${join(dir, 'token.crt')}`);
  }
  await writeFile(join(dir, 'config.yml'), lines.join('\n') + '\n');
  const out: Buffer[] = [];
  const argv = opts.listen !== undefined ? ['nsenter', `--net=/run/netns/${opts.listen.netns}`, REGISTRY_BIN] : [REGISTRY_BIN];
  const proc: ChildProcess = spawn(argv[0]!, [...argv.slice(1), 'serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const host = `${opts.listen?.address ?? '127.0.0.1'}:${port}`;
  proc.stdout!.on('data', (c: Buffer) => out.push(c));
  proc.stderr!.on('data', (c: Buffer) => out.push(c));
  const log = (): string => Buffer.concat(out).toString();
  const close = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      await Promise.race([gone, sleep(5000).then(() => proc.kill('SIGKILL'))]);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; ; i++) {
      if (proc.exitCode !== null) throw new Error(`docker-registry exited with ${proc.exitCode}: ${log().slice(-2000)}`);
      try {
        const r = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(1000) });
        await r.body?.cancel();
        if (r.status === 200 || r.status === 401) break;
      } catch {
        // not yet listening
      }
      if (i > 100) throw new Error(`docker-registry did not answer on ${host}: ${log().slice(-2000)}`);
      await sleep(100);
    }
    const f: RegistryFixture = { port, host, dir, log, close };
    if (opts.auth === 'htpasswd') {
      const m = /password=(\S+) user=(\S+)/.exec(log());
      if (m === null) throw new Error(`docker-registry did not log the provisioned htpasswd user: ${log().slice(-2000)}`);
      f.user = { username: m[2]!, password: m[1]! };
    }
    return f;
  } catch (e) {
    await close();
    throw e;
  }
}
