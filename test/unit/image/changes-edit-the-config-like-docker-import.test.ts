import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImageError, applyChanges } from '../../../worker/engine/image/index.js';

test('CMD/ENTRYPOINT take the JSON form as is and wrap the shell form in /bin/sh -c', () => {
  const c = applyChanges({}, ['CMD ["httpd","-f"]', 'ENTRYPOINT /init --x']);
  assert.deepEqual(c.Cmd, ['httpd', '-f']);
  assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c', '/init --x']);
});

test('ENV, LABEL, EXPOSE, USER, WORKDIR, VOLUME and STOPSIGNAL edit the config; later ENV wins', () => {
  const c = applyChanges({ Env: ['PATH=/bin'] }, [
    'ENV A=1 B="two words"',
    'ENV C 3 and more',
    'env A=9',
    'LABEL com.example.x=y "quoted key"=v',
    'EXPOSE 80 53/udp',
    'USER nobody',
    'WORKDIR /srv',
    'WORKDIR app',
    'VOLUME ["/data"]',
    'STOPSIGNAL SIGINT',
  ]);
  assert.deepEqual(c.Env, ['PATH=/bin', 'A=9', 'B=two words', 'C=3 and more']);
  assert.deepEqual(c.Labels, { 'com.example.x': 'y', 'quoted key': 'v' });
  assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  assert.equal(c.User, 'nobody');
  assert.equal(c.WorkingDir, '/srv/app');
  assert.deepEqual(c.Volumes, { '/data': {} });
  assert.equal(c.StopSignal, 'SIGINT');
});

test('the base config is not modified', () => {
  const base = { Env: ['X=1'] };
  applyChanges(base, ['ENV X=2']);
  assert.deepEqual(base, { Env: ['X=1'] });
});

test('unknown instructions and malformed arguments are 400 errors naming the problem', () => {
  const cases: [string, RegExp][] = [
    ['RUN echo hi', /RUN is not a valid change command/],
    ['CMD ["unterminated"', /invalid JSON array/],
    ['EXPOSE 99999', /invalid port/],
    ['ENV =x', /not KEY=VALUE/],
    ['LABEL "open=1', /unterminated quote/],
    ['USER', /USER needs an argument/],
  ];
  for (const [line, re] of cases) {
    assert.throws(() => applyChanges({}, [line]), (e: unknown) => e instanceof ImageError && e.status === 400 && re.test(e.message), line);
  }
});
