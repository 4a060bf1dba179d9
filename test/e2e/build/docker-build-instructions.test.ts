/**
 * The rest of the classic instruction set through the real docker CLI: ADD of a URL (a server on
 * 127.0.0.1) and of a local tar.gz (unpacked), COPY --chown/--chmod, ONBUILD triggers, FROM scratch
 * with COPY --from, SHELL, ENTRYPOINT/CMD, EXPOSE, VOLUME, STOPSIGNAL, WORKDIR, and RUN layers that
 * delete a base file or leave a dangling symlink.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DOCKER, run, ShoaldHarness, type RunResult } from '../engine/shoald-harness.js';

describe('docker build: the instruction set', () => {
  let h: ShoaldHarness;
  let server: Server;
  let port = 0;
  const build = (args: string[], dir: string): Promise<RunResult> => run(DOCKER, ['build', ...args, dir], { env: { ...h.env, DOCKER_BUILDKIT: '0' }, timeoutMs: 180_000 });
  const ctxOf = async (name: string, files: Record<string, string>): Promise<string> => {
    const dir = join(h.dir, name);
    await mkdir(dir, { recursive: true });
    for (const [f, body] of Object.entries(files)) {
      await mkdir(join(dir, f, '..'), { recursive: true });
      await writeFile(join(dir, f), body);
    }
    return dir;
  };

  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (overlay mounts, network namespaces, cgroups)');
    if (!existsSync(DOCKER)) throw new Error(`this test needs the docker CLI at ${DOCKER}`);
    server = createServer((req, res) => {
      if (req.url === '/files/remote.txt') {
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Last-Modified': 'Tue, 02 Jan 2024 03:04:05 GMT' });
        res.end('fetched over http\n');
      } else {
        res.writeHead(404);
        res.end('no');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const a = server.address();
    port = typeof a === 'object' && a ? a.port : 0;
    h = await ShoaldHarness.create();
    await h.start();
  });
  after(async () => {
    server?.close();
    if (!h) return;
    const left = await h.cleanup();
    assert.deepEqual(left, [], `leftovers after cleanup: ${left.join(', ')}`);
  });

  test('ADD fetches a URL and unpacks a local tar.gz; COPY --chown and --chmod set owner and mode', async () => {
    const dir = await ctxOf('ctx-add', {
      'Dockerfile': `FROM busybox
RUN echo 'web:x:2000:2001::/home/web:/bin/sh' >> /etc/passwd && echo 'webgrp:x:2001:' >> /etc/group
ADD http://127.0.0.1:${port}/files/remote.txt /downloads/
ADD bundle.tar.gz /opt/
COPY --chown=web:webgrp --chmod=640 conf.ini /etc/app/
CMD ["sh", "-c", "cat /downloads/remote.txt; stat -c '%a %u' /downloads/remote.txt; date -u -r /downloads/remote.txt +%Y; cat /opt/bundle/inside.txt; stat -c '%a %u:%g %U' /etc/app/conf.ini /etc/app"]
`,
      'conf.ini': 'k=v\n',
      'src/bundle/inside.txt': 'unpacked by ADD\n',
    });
    execFileSync('tar', ['-C', join(dir, 'src'), '-czf', join(dir, 'bundle.tar.gz'), 'bundle']);
    const r = await build(['-t', 'instr:add'], dir);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const out = await h.docker(['run', '--rm', 'instr:add']);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, 'fetched over http\n600 0\n2024\nunpacked by ADD\n640 2000:2001 web\n755 2000:2001 web\n');
  });

  test('ADD of a URL that answers 404 fails the build with the status', async () => {
    const dir = await ctxOf('ctx-add404', { 'Dockerfile': `FROM busybox\nADD http://127.0.0.1:${port}/missing /x\n` });
    const r = await build([], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Dockerfile:2: ADD failed: ADD http:\/\/127\.0\.0\.1:\d+\/missing: the server answered 404/);
  });

  test('ONBUILD triggers run in the build that uses the image; FROM scratch gets files with COPY --from', async () => {
    const base = await ctxOf('ctx-onbuild-base', { 'Dockerfile': 'FROM busybox\nONBUILD COPY marker.txt /marker.txt\nONBUILD RUN echo "trigger ran" >> /marker.txt\n' });
    assert.equal((await build(['-t', 'instr:onbuild-base'], base)).code, 0);
    const child = await ctxOf('ctx-onbuild-child', {
      'Dockerfile': 'FROM instr:onbuild-base AS tools\nFROM scratch\nCOPY --from=tools /bin/busybox /bin/busybox\nCOPY --from=tools /marker.txt /\nENTRYPOINT ["/bin/busybox"]\nCMD ["cat", "/marker.txt"]\n',
      'marker.txt': 'from the child context\n',
    });
    const r = await build(['-t', 'instr:scratch'], child);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /# Executing 2 build triggers\n/);
    const out = await h.docker(['run', '--rm', 'instr:scratch']);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, 'from the child context\ntrigger ran\n');
    const layers = await h.docker(['image', 'inspect', 'instr:scratch', '--format', '{{len .RootFS.Layers}} {{json .Config.OnBuild}}']);
    assert.equal(layers.stdout.trim(), '2 null', 'two COPY layers on scratch, and the triggers do not pass on');
  });

  test('RUN steps join the default bridge, or no network with --network none', async () => {
    const dir = await ctxOf('ctx-net', { 'Dockerfile': 'FROM busybox\nRUN ls /sys/class/net | sort | tr "\\n" " " > /ifaces\nCMD cat /ifaces\n' });
    assert.equal((await build(['--no-cache', '-t', 'instr:bridge'], dir)).code, 0);
    assert.equal((await h.docker(['run', '--rm', '--network', 'none', 'instr:bridge'])).stdout, 'eth0 lo ');
    const none = await build(['--no-cache', '--network', 'none', '-t', 'instr:none'], dir);
    assert.equal(none.code, 0, none.stderr);
    assert.equal((await h.docker(['run', '--rm', '--network', 'none', 'instr:none'])).stdout, 'lo ');
  });

  test('SHELL, WORKDIR, EXPOSE, VOLUME, STOPSIGNAL and RUN layers that delete base files or leave dangling links', async () => {
    const dir = await ctxOf('ctx-meta', {
      'Dockerfile': `FROM busybox
SHELL ["/bin/sh", "-e", "-c"]
WORKDIR /work/dir
RUN rm /bin/vi && ln -s /does/not/exist dangling && echo "$0 $-" > shell.txt
EXPOSE 8080 53/udp
VOLUME /data
STOPSIGNAL SIGINT
ENTRYPOINT ["sh", "-c"]
CMD ["pwd; ls -A; test -e /bin/vi || echo vi-gone; readlink dangling"]
`,
    });
    const r = await build(['-t', 'instr:meta'], dir);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const out = await h.docker(['run', '--rm', 'instr:meta']);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, '/work/dir\ndangling\nshell.txt\nvi-gone\n/does/not/exist\n');
    const cfg = JSON.parse((await h.docker(['image', 'inspect', 'instr:meta', '--format', '{{json .Config}}'])).stdout) as Record<string, unknown>;
    assert.deepEqual(cfg['ExposedPorts'], { '8080/tcp': {}, '53/udp': {} });
    assert.deepEqual(cfg['Volumes'], { '/data': {} });
    assert.equal(cfg['StopSignal'], 'SIGINT');
    assert.equal(cfg['WorkingDir'], '/work/dir');
    const shell = await h.docker(['run', '--rm', '--entrypoint', 'cat', 'instr:meta', 'shell.txt']);
    assert.match(shell.stdout, /^\/bin\/sh \w*e\w*\n$/, 'RUN went through the SHELL with -e');
  });
});
