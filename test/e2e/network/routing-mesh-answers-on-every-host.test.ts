// The routing mesh on the local multi-host cluster (3 netns hosts: 1 manager + 2 workers, real shoald
// and containers, the real docker CLI): the swarm has its `ingress` network from init (10.0.0.0/24);
// `docker service create -p 8080:80` with 2 replicas kept off h3; a client outside the swarm — a
// namespace of this test's own on the hosts' bridge — reaches port 8080 on every host, h3 (no task)
// included, and through h3 both tasks answer; it keeps answering through h3 while h3's shoald is
// SIGKILLed and after it restarts; a port added by `service update --publish-add` answers
// too (the tasks are replaced onto the ingress network); scaled to 0 the port refuses at once on every host; the
// service removed, nothing answers; `docker network rm ingress` is refused while a service publishes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostExec, runRaw } from '../../../worker/engine/network/exec.js';
import { MultihostLab, until } from '../multihost/multihost-lab.js';
import { NetLab } from './network-lab.js';

const WEB = 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www';

/** A namespace on the lab's bridge with the address .200: a client outside the swarm. */
async function outsideClient(lab: MultihostLab): Promise<{ ns: string; curl: (url: string) => Promise<{ code: number; body: string }>; remove: () => Promise<void> }> {
  const l = lab.lab;
  const ns = `${l.name}-cl`;
  const net = l.subnet.split('.').slice(0, 3).join('.');
  const root = new HostExec(undefined);
  await root.run(['ip', 'netns', 'add', ns]);
  const remove = async (): Promise<void> => {
    await runRaw(['ip', '-n', l.switchNetns, 'link', 'del', 'hcl']);
    await runRaw(['ip', 'netns', 'del', ns]);
  };
  try {
    await root.run(['ip', '-n', l.switchNetns, 'link', 'add', 'hcl', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await root.run(['ip', '-n', l.switchNetns, 'link', 'set', 'hcl', 'master', 'br0', 'up']);
    await root.run(['ip', '-n', ns, 'addr', 'add', `${net}.200/24`, 'dev', 'eth0']);
    await root.run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    await root.run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  } catch (e) {
    await remove();
    throw e;
  }
  const inNs = new HostExec(`/run/netns/${ns}`);
  const curl = async (url: string): Promise<{ code: number; body: string }> => {
    const r = await inNs.raw(['curl', '-sS', '--max-time', '5', url]);
    return { code: r.code, body: r.stdout.trim() || r.stderr.trim() };
  };
  return { ns, curl, remove };
}

test('routing mesh: a published port answers on every host, including one with no task, balanced over the tasks', { timeout: 400_000 }, async () => {
  assert.equal(process.getuid?.(), 0, 'the local cluster needs root (network namespaces, VXLAN, nftables)');
  const lab = await MultihostLab.start({ hosts: 3, managers: 1 });
  let client: Awaited<ReturnType<typeof outsideClient>> | undefined;
  try {
    const nl = new NetLab(lab);
    const m = lab.host(1);
    const h3 = lab.host(3);

    // the ingress network exists from swarm init, as in Docker
    const ingress = await until('the ingress network', async () => {
      const r = await lab.docker(m, ['network', 'inspect', 'ingress']);
      return r.code === 0 ? (JSON.parse(r.stdout) as { Ingress: boolean; Scope: string; Driver: string; IPAM: { Config: { Subnet: string }[] } }[])[0] : undefined;
    }, 30_000, 500);
    assert.equal(ingress.Ingress, true);
    assert.equal(ingress.Scope, 'swarm');
    assert.equal(ingress.Driver, 'overlay');
    assert.equal(ingress.IPAM.Config[0]?.Subnet, '10.0.0.0/24');

    await lab.dockerOk(m, ['service', 'create', '--detach', '--name', 'web', '-p', '8080:80', '--replicas', '2', '--constraint', `node.hostname!=${h3.name}`, 'busybox', 'sh', '-c', WEB]);
    const tasks = await nl.running('web', 2);
    for (const t of tasks) assert.notEqual((await nl.hostOf(t)).name, h3.name);
    const names = new Set(await Promise.all(tasks.map(async (t) => (await nl.execOk(t, 'hostname')).trim())));
    const ports = await lab.dockerOk(m, ['service', 'inspect', 'web', '--format', '{{json .Endpoint.Ports}}']);
    assert.match(ports, /"PublishedPort":8080/);
    assert.match(ports, /"PublishMode":"ingress"/);

    const rm = await lab.docker(m, ['network', 'rm', 'ingress'], { input: 'y\n' }); // the CLI asks before removing the routing-mesh network
    assert.notEqual(rm.code, 0);
    assert.match(rm.stderr, /ingress network cannot be removed because service \S+ depends on it/);

    client = await outsideClient(lab);
    const c = client;
    // every host answers on 8080, h3 (no task) included
    for (const h of lab.hosts) {
      const body = await until(`${h.name}:8080 answers the outside client`, async () => {
        const r = await c.curl(`http://${h.addr}:8080/`);
        return r.code === 0 && names.has(r.body) ? r.body : undefined;
      }, 60_000, 500);
      assert.ok(names.has(body), `${h.name} answered ${body}`);
    }
    // through h3 both tasks answer (balanced), every request succeeds
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const r = await c.curl(`http://${h3.addr}:8080/`);
      assert.equal(r.code, 0, `request ${i} through ${h3.name} failed: ${r.body}`);
      seen.add(r.body);
    }
    assert.deepEqual(seen, names, 'both tasks answered through the host without a task');

    // the mesh is kernel state: it keeps answering on h3 while h3's shoald is SIGKILLed, and after it restarts
    lab.killDaemon(h3);
    for (let i = 0; i < 5; i++) assert.equal((await c.curl(`http://${h3.addr}:8080/`)).code, 0, `${h3.name}:8080 with its shoald dead`);
    await lab.startHost(h3);
    await until(`${h3.name} back in the swarm`, async () => (await lab.dockerOk(m, ['node', 'ls', '--format', '{{.Hostname}} {{.Status}}'])).includes(`${h3.name} Ready`), 60_000, 500);
    for (let i = 0; i < 5; i++) assert.equal((await c.curl(`http://${h3.addr}:8080/`)).code, 0, `${h3.name}:8080 after its shoald restarted`);

    // a port published by an update: the tasks are replaced onto the ingress network and it answers everywhere
    await lab.dockerOk(m, ['service', 'update', '--publish-add', '9090:80', 'web'], { timeoutMs: 180_000 });
    await until(`${h3.name}:9090 answers after --publish-add`, async () => (await c.curl(`http://${h3.addr}:9090/`)).code === 0, 90_000, 500);
    await until(`${h3.name}:8080 still answers`, async () => (await c.curl(`http://${h3.addr}:8080/`)).code === 0, 60_000, 500);

    // scaled to 0: the port refuses at once on every host
    await lab.dockerOk(m, ['service', 'scale', '--detach', 'web=0']);
    for (const h of lab.hosts) {
      await until(`${h.name}:8080 refuses with no task`, async () => {
        const r = await c.curl(`http://${h.addr}:8080/`);
        return r.code === 7 ? true : undefined; // curl: failed to connect (refused)
      }, 60_000, 500);
    }
    await lab.dockerOk(m, ['service', 'scale', '--detach', 'web=1']);
    await nl.running('web', 1);
    await until(`${h3.name}:8080 answers again`, async () => (await c.curl(`http://${h3.addr}:8080/`)).code === 0, 60_000, 500);

    // removed: nothing listens any more, on any host
    await lab.dockerOk(m, ['service', 'rm', 'web']);
    for (const h of lab.hosts) {
      await until(`${h.name}:8080 closed after service rm`, async () => {
        const r = await c.curl(`http://${h.addr}:8080/`);
        return r.code !== 0 ? true : undefined;
      }, 60_000, 500);
    }
  } catch (e) {
    process.stderr.write(`FAILED: ${(e as Error).stack ?? String(e)}\n${lab.allLogs(40)}\n`);
    throw e;
  } finally {
    await client?.remove();
    const left = await lab.cleanup();
    assert.deepEqual(left, [], 'the lab left nothing behind');
  }
});
