import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Attachment, NetworkRecord } from '../../../worker/engine/network/index.js';
import { containerId, makeLab, nftTableIn, nslookup, nslookupAddresses, sh, startServer, tcpFrom } from './netns-harness.js';

test('an engine started under nsenter --net=<host netns> keeps every bridge, rule and port inside that netns', async () => {
  const lab = makeLab();
  const childPath = fileURLToPath(new URL('./engine-child.js', import.meta.url));
  const child = fork(childPath, [], { execPath: 'nsenter', execArgv: [`--net=${lab.hostNsPath}`, process.execPath], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  lab.children.push(child);
  let seq = 0;
  const call = <T>(op: string, ...args: unknown[]): Promise<T> =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      const t = setTimeout(() => reject(new Error(`${op} timed out`)), 20_000);
      const on = (m: unknown): void => {
        const r = m as { id: number; ok: boolean; value?: unknown; message?: string };
        if (r.id !== id) return;
        child.off('message', on);
        clearTimeout(t);
        if (r.ok) resolve(r.value as T);
        else reject(new Error(r.message));
      };
      child.on('message', on);
      child.send({ id, op, args });
    });
  let opened = false;
  try {
    await call('open', { stateDir: lab.stateDir, prefix: lab.prefix, dnsUpstreams: [] });
    opened = true;
    const net = await call<NetworkRecord>('create', { Name: `ns-${lab.prefix}` });
    const web = await call<Attachment>('attach', containerId(), { networkMode: net.Name, name: 'web', hostname: 'web', portBindings: [{ containerPort: 80, proto: 'tcp', hostPort: '18400' }] });
    const cli = await call<Attachment>('attach', containerId(), { networkMode: net.Name, name: 'cli', hostname: 'cli', portBindings: [] });
    // MTU defaulted from the host netns (no default route there -> 1500), not from the machine
    assert.equal(JSON.parse(sh(['ip', '-n', lab.hostNs, '-j', 'link', 'show', `${lab.prefix}br1`]).stdout)[0].mtu, 1500);
    assert.ok(nftTableIn(lab.hostNs, `shoal_${lab.prefix}`), 'table in the host netns');
    assert.notEqual(sh(['nft', 'list', 'table', 'ip', `shoal_${lab.prefix}`]).code, 0, 'no table in the machine namespace');
    assert.notEqual(sh(['ip', 'link', 'show', `${lab.prefix}br1`]).code, 0, 'no bridge in the machine namespace');
    await startServer(lab, web.netnsPath!, 80, 'web');
    assert.equal(await tcpFrom(`/run/netns/${lab.clientNs}`, lab.hostAddr, 18400), `web from=${lab.clientAddr}`);
    assert.equal(await tcpFrom(lab.hostNsPath, '127.0.0.1', 18400), `web from=${web.endpoints[0]!.gateway}`);
    assert.deepEqual(nslookupAddresses((await nslookup(cli.netnsPath!, 'web')).out), [web.endpoints[0]!.ipAddress]);
  } finally {
    if (opened) await call('close').catch(() => undefined);
    child.disconnect();
    lab.cleanup();
  }
});
