// The local multi-host cluster (4 netns hosts: 1 manager + 3 workers, one shoald each) with real
// containers and the real docker CLI: `docker network create -d overlay app` (ls/inspect show it,
// swarm-scoped); service web (3 replicas on app, busybox httpd answering its hostname, kept off h4) and
// service client (1 replica on app, pinned to h4, where no web task runs). From the client container:
// wget http://web/ answers and over 60 requests at least 2 backends answer; nslookup tasks.web lists
// the 3 task addresses; scaled to 5 the new tasks resolve and answer; a killed task drops out of DNS;
// a 1400-byte ping with DF set crosses hosts; a dnsrr service's name resolves to its task addresses;
// a container on a second overlay reaches nothing on app; an --internal overlay's tasks reach each
// other across hosts and nothing outside;
// `docker network rm app` is refused while services use it, and works after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MultihostLab, until } from '../multihost/multihost-lab.js';
import { NetLab, nslookupAddrs, requests } from './network-lab.js';

const WEB = 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www';

test('overlay app across hosts: discovery, VIP balancing over remote tasks, scale, kill, MTU, isolation; docker network CLI', { timeout: 600_000 }, async () => {
  assert.equal(process.getuid?.(), 0, 'the local cluster needs root (network namespaces, VXLAN, nftables)');
  const lab = await MultihostLab.start({ hosts: 4, managers: 1 });
  try {
    const nl = new NetLab(lab);
    const m = lab.host(1);
    const h4 = lab.host(4);

    // docker network create / ls / inspect
    const id = (await lab.dockerOk(m, ['network', 'create', '-d', 'overlay', '--label', 'purpose=e2e', 'app'])).trim();
    assert.match(id, /^[a-z0-9]{25}$/, id);
    const ls = await lab.dockerOk(m, ['network', 'ls', '--format', '{{.Name}}|{{.Driver}}|{{.Scope}}']);
    assert.ok(ls.split('\n').includes('app|overlay|swarm'), ls);
    assert.ok(ls.split('\n').includes('bridge|bridge|local'), ls);
    const insp = JSON.parse(await lab.dockerOk(m, ['network', 'inspect', 'app'])) as { Id: string; Scope: string; Driver: string; Labels: Record<string, string> }[];
    assert.equal(insp[0]?.Id, id);
    assert.equal(insp[0]?.Scope, 'swarm');
    assert.deepEqual(insp[0]?.Labels, { purpose: 'e2e' });
    const dup = await lab.docker(m, ['network', 'create', '-d', 'overlay', 'app']);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /network with name app already exists/);
    const enc = await lab.docker(m, ['network', 'create', '-d', 'overlay', '--opt', 'encrypted', 'sec']);
    assert.notEqual(enc.code, 0);
    assert.match(enc.stderr, /ESP/);
    const onWorker = await lab.docker(h4, ['network', 'create', '-d', 'overlay', 'w']);
    assert.notEqual(onWorker.code, 0);
    assert.match(onWorker.stderr, /Cannot create a multi-host network from a worker node/);

    // web on h1-h3, client on h4
    await lab.dockerOk(m, ['service', 'create', '--detach', '--name', 'web', '--network', 'app', '--replicas', '3', '--constraint', `node.hostname!=${h4.name}`, 'busybox', 'sh', '-c', WEB]);
    await lab.dockerOk(m, ['service', 'create', '--detach', '--name', 'client', '--network', 'app', '--constraint', `node.hostname==${h4.name}`, 'busybox', 'sleep', '1d']);
    const web = await nl.running('web', 3);
    const [client] = await nl.running('client', 1);
    assert.ok(client);
    assert.equal((await nl.hostOf(client)).name, h4.name, 'client runs on h4');
    for (const t of web) assert.notEqual((await nl.hostOf(t)).name, h4.name, 'no web task on h4');
    const webAddrs = web.map((t) => NetLab.addr(t, 'app')).sort();

    // the network now lists peers (the nodes with tasks on it)
    const peers = JSON.parse(await lab.dockerOk(m, ['network', 'inspect', '--format', '{{json .Peers}}', 'app'])) as { Name: string; IP: string }[];
    assert.ok(peers.some((p) => p.Name === h4.name), JSON.stringify(peers));

    // DNS: tasks.web = the 3 task addresses; web = one VIP
    const tasksWeb = await until('tasks.web lists the 3 task addresses', async () => {
      const got = nslookupAddrs(await nl.execOk(client, 'nslookup tasks.web'));
      return JSON.stringify(got) === JSON.stringify(webAddrs) ? got : undefined;
    }, 60_000, 500);
    assert.deepEqual(tasksWeb, webAddrs);
    const vip = nslookupAddrs(await nl.execOk(client, 'nslookup web'));
    assert.equal(vip.length, 1, `web resolves to one VIP: ${vip.join(', ')}`);
    assert.ok(!webAddrs.includes(vip[0]!));

    // 60 requests through the VIP: every one answers, at least 2 backends
    const answers = await requests(nl, client, 'http://web/', 60);
    assert.equal(answers.length, 60);
    assert.ok(!answers.includes('ERR'), `failed requests: ${answers.filter((a) => a === 'ERR').length}`);
    const backends = new Set(answers);
    assert.ok(backends.size >= 2, `answers came from ${backends.size} backend(s): ${[...backends].join(', ')}`);

    // a 1400-byte ping with DF set from h4's client to a web task on another host
    const ping = await nl.inNetns(client, ['ping', '-c', '2', '-W', '2', '-M', 'do', '-s', '1400', webAddrs[0]!]);
    assert.equal(ping.code, 0, `ping -M do -s 1400: ${ping.stdout}${ping.stderr}`);

    // scale to 5: the new tasks resolve and answer
    await lab.dockerOk(m, ['service', 'scale', '--detach', 'web=5']);
    const web5 = await nl.running('web', 5);
    const addrs5 = web5.map((t) => NetLab.addr(t, 'app')).sort();
    await until('tasks.web lists the 5 task addresses', async () => JSON.stringify(nslookupAddrs(await nl.execOk(client, 'nslookup tasks.web'))) === JSON.stringify(addrs5), 60_000, 500);
    const seen = new Set<string>();
    await until('all 5 backends answer through the VIP', async () => {
      for (const a of await requests(nl, client, 'http://web/', 30)) {
        assert.notEqual(a, 'ERR', 'a request through the VIP failed');
        seen.add(a);
      }
      return seen.size >= 5;
    }, 120_000, 0);

    // a killed task drops out of DNS (and its replacement comes in)
    const victim = web5.find((t) => t.Slot === 1) ?? web5[0]!;
    const vAddr = NetLab.addr(victim, 'app');
    await lab.dockerOk(await nl.hostOf(victim), ['kill', NetLab.container(victim)]);
    await until('the killed task leaves tasks.web', async () => !nslookupAddrs(await nl.execOk(client, 'nslookup tasks.web')).includes(vAddr), 60_000, 300);
    const after = await nl.running('web', 5);
    const addrsAfter = after.map((t) => NetLab.addr(t, 'app')).sort();
    await until('tasks.web lists the 5 live tasks', async () => JSON.stringify(nslookupAddrs(await nl.execOk(client, 'nslookup tasks.web'))) === JSON.stringify(addrsAfter), 60_000, 500);
    const again = await requests(nl, client, 'http://web/', 20);
    assert.ok(!again.includes('ERR'), `after the kill: ${again.join(',')}`);

    // endpoint mode dnsrr: the name resolves to the task addresses themselves, no VIP
    await lab.dockerOk(m, ['service', 'create', '--detach', '--name', 'rr', '--endpoint-mode', 'dnsrr', '--network', 'app', '--replicas', '2', 'busybox', 'sleep', '1d']);
    const rr = await nl.running('rr', 2);
    const rrAddrs = rr.map((t) => NetLab.addr(t, 'app')).sort();
    await until('rr resolves to its 2 task addresses (dnsrr)', async () => JSON.stringify(nslookupAddrs(await nl.execOk(client, 'nslookup rr'))) === JSON.stringify(rrAddrs), 60_000, 500);

    // a second overlay is isolated from app
    await lab.dockerOk(m, ['network', 'create', '-d', 'overlay', 'other']);
    await lab.dockerOk(m, ['service', 'create', '--detach', '--name', 'iso', '--network', 'other', '--constraint', `node.hostname==${h4.name}`, 'busybox', 'sleep', '1d']);
    const [iso] = await nl.running('iso', 1);
    assert.ok(iso);
    for (const a of addrsAfter.slice(0, 2)) {
      const r = await nl.exec(iso, `timeout 3 wget -qO- http://${a}/`);
      assert.notEqual(r.code, 0, `iso (on other) reached web task ${a} on app: ${r.stdout}`);
    }
    const rev = await nl.inNetns(client, ['ping', '-c', '1', '-W', '2', NetLab.addr(iso, 'other')]);
    assert.notEqual(rev.code, 0, 'client (on app) reached iso on other');
    const noName = await nl.exec(iso, 'nslookup web');
    assert.equal(nslookupAddrs(noName.stdout).length, 0, `iso resolved web: ${noName.stdout}`);

    // an --internal overlay works across hosts but has no way out of the swarm
    await lab.dockerOk(m, ['network', 'create', '-d', 'overlay', '--internal', 'priv']);
    await lab.dockerOk(m, ['service', 'create', '--detach', '--name', 'inner', '--network', 'priv', '--replicas', '2', '--replicas-max-per-node', '1', 'busybox', 'sleep', '1d']);
    const inner = await nl.running('inner', 2);
    assert.notEqual((await nl.hostOf(inner[0]!)).name, (await nl.hostOf(inner[1]!)).name, 'the 2 inner tasks on 2 hosts');
    const across = await nl.inNetns(inner[0]!, ['ping', '-c', '1', '-W', '2', NetLab.addr(inner[1]!, 'priv')]);
    assert.equal(across.code, 0, `inner tasks reach each other across hosts: ${across.stdout}${across.stderr}`);
    const gw = lab.lab.gateway;
    const out = await nl.inNetns(client, ['ping', '-c', '1', '-W', '2', gw]);
    assert.equal(out.code, 0, `client (non-internal) reaches the hosts' gateway ${gw}: ${out.stdout}${out.stderr}`);
    const shut = await nl.inNetns(inner[0]!, ['ping', '-c', '1', '-W', '2', gw]);
    assert.notEqual(shut.code, 0, `a task on an internal overlay reached ${gw}`);

    // network rm: refused while in use, then removed
    const busy = await lab.docker(m, ['network', 'rm', 'app']);
    assert.notEqual(busy.code, 0);
    assert.match(busy.stderr, /is in use by service/);
    await lab.dockerOk(m, ['service', 'rm', 'web', 'client', 'iso', 'rr', 'inner']);
    await until('network rm app succeeds once its tasks are gone', async () => (await lab.docker(m, ['network', 'rm', 'app', 'other', 'priv'])).code === 0, 90_000, 1000);
    const left = await lab.dockerOk(m, ['network', 'ls', '--format', '{{.Name}}']);
    assert.ok(!left.split('\n').includes('app') && !left.split('\n').includes('other'), left);
  } catch (e) {
    process.stderr.write(`FAILED: ${(e as Error).stack ?? String(e)}\n${lab.allLogs(40)}\n`);
    throw e;
  } finally {
    const left = await lab.cleanup();
    assert.deepEqual(left, [], 'the lab left nothing behind');
  }
});

