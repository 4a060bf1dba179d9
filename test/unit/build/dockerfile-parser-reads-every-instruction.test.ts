import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile, stagesUpTo, stageRef } from '../../../worker/engine/build/dockerfile.js';
import { DockerfileError } from '../../../worker/engine/build/dockerfile-error.js';
import { parseDuration } from '../../../worker/engine/build/dockerfile-instructions.js';

const FULL = `# syntax=docker/dockerfile:1
# escape=\\
ARG BASE=busybox
ARG TAG

FROM --platform=linux/amd64 \${BASE}:\${TAG:-latest} AS build
ARG VERSION=1.0 OTHER
ENV A=1 B="two words" \\
    C=three
ENV LEGACY some value here
LABEL org.example.name="demo app" version=$VERSION
WORKDIR /src
# a comment between instructions
RUN echo one && \\
    # a comment inside a continuation
    echo two
RUN ["/bin/echo", "exec", "form"]
COPY --chown=1000:1000 --chmod=755 a.txt b/*.txt /dst/
ADD ["with space.txt", "/dst/x"]
USER nobody:nogroup
EXPOSE 80 443/tcp 53/udp
VOLUME ["/data", "/logs"]
VOLUME /cache
SHELL ["/bin/sh", "-eu", "-c"]
HEALTHCHECK --interval=5s --timeout=2s --start-period=1m30s --retries=4 CMD wget -q -O- http://localhost/ || exit 1
STOPSIGNAL SIGQUIT
ONBUILD RUN echo triggered
MAINTAINER someone
CMD ["sh", "-c", "echo hi"]
ENTRYPOINT /bin/run.sh

from build as final
copy --from=build /dst /out
COPY --from=0 /src /src2
HEALTHCHECK NONE
CMD echo shell form
`;

test('every instruction of a two-stage Dockerfile parses to its typed form with the line it starts on', () => {
  const df = parseDockerfile(FULL);
  assert.equal(df.directives.escape, '\\');
  assert.equal(df.directives.syntax, 'docker/dockerfile:1');
  assert.deepEqual(df.globalArgs.map((a) => a.args), [[{ name: 'BASE', value: 'busybox' }], [{ name: 'TAG' }]]);
  assert.equal(df.stages.length, 2);
  const [s0, s1] = df.stages;
  assert.deepEqual({ image: s0!.from.image, name: s0!.name, platform: s0!.from.platform, line: s0!.from.line }, { image: '${BASE}:${TAG:-latest}', name: 'build', platform: 'linux/amd64', line: 6 });
  const byKind = s0!.instructions.map((i) => `${i.line}:${i.kind}`);
  assert.deepEqual(byKind, ['7:arg', '8:env', '10:env', '11:label', '12:workdir', '14:run', '17:run', '18:copy', '19:add', '20:user', '21:expose', '22:volume', '23:volume', '24:shell', '25:healthcheck', '26:stopsignal', '27:onbuild', '28:maintainer', '29:cmd', '30:entrypoint']);
  const ins = s0!.instructions;
  assert.deepEqual(ins[0], { line: 7, original: 'ARG VERSION=1.0 OTHER', kind: 'arg', args: [{ name: 'VERSION', value: '1.0' }, { name: 'OTHER' }] });
  assert.deepEqual((ins[1] as { pairs: unknown }).pairs, [['A', '1'], ['B', '"two words"'], ['C', 'three']]);
  assert.deepEqual((ins[2] as { pairs: unknown }).pairs, [['LEGACY', 'some value here']]);
  assert.deepEqual((ins[3] as { pairs: unknown }).pairs, [['org.example.name', '"demo app"'], ['version', '$VERSION']]);
  assert.deepEqual((ins[5] as { command: unknown }).command, { form: 'shell', line: 'echo one &&     echo two' });
  assert.equal(ins[5]!.original, 'RUN echo one &&     echo two');
  assert.deepEqual((ins[6] as { command: unknown }).command, { form: 'exec', args: ['/bin/echo', 'exec', 'form'] });
  assert.deepEqual(ins[7], { line: 18, original: ins[7]!.original, kind: 'copy', sources: ['a.txt', 'b/*.txt'], dest: '/dst/', chown: '1000:1000', chmod: '755' });
  assert.deepEqual({ s: (ins[8] as { sources: unknown }).sources, d: (ins[8] as { dest: unknown }).dest }, { s: ['with space.txt'], d: '/dst/x' });
  assert.deepEqual((ins[10] as { values: unknown }).values, ['80', '443/tcp', '53/udp']);
  assert.deepEqual((ins[11] as { values: unknown }).values, ['/data', '/logs']);
  assert.deepEqual((ins[13] as { shell: unknown }).shell, ['/bin/sh', '-eu', '-c']);
  assert.deepEqual((ins[14] as { check: unknown }).check, { test: ['CMD-SHELL', 'wget -q -O- http://localhost/ || exit 1'], intervalNs: 5e9, timeoutNs: 2e9, startPeriodNs: 90e9, retries: 4 });
  assert.equal((ins[16] as { trigger: string }).trigger, 'RUN echo triggered');
  assert.deepEqual((ins[18] as { command: unknown }).command, { form: 'exec', args: ['sh', '-c', 'echo hi'] });
  assert.deepEqual((ins[19] as { command: unknown }).command, { form: 'shell', line: '/bin/run.sh' });
  assert.equal(s1!.name, 'final');
  assert.equal(s1!.from.image, 'build');
  assert.deepEqual(s1!.instructions.map((i) => i.kind), ['copy', 'copy', 'healthcheck', 'cmd']);
  assert.equal((s1!.instructions[0] as { from?: string }).from, 'build');
  assert.equal((s1!.instructions[2] as { check: unknown }).check, null);
  assert.equal(stageRef(df.stages, 'BUILD', 1), s0);
  assert.equal(stageRef(df.stages, '0', 1), s0);
  assert.equal(stageRef(df.stages, '1', 1), undefined, 'a stage cannot copy from itself');
  assert.deepEqual(stagesUpTo(df, 'build').map((s) => s.index), [0]);
});

test('the escape directive switches continuations and escapes to the backtick', () => {
  const df = parseDockerfile('# escape=`\nFROM busybox\nRUN echo a `\n  b\nCOPY c:\\dir\\x /y\n');
  assert.equal(df.directives.escape, '`');
  const [run, copy] = df.stages[0]!.instructions;
  assert.deepEqual((run as { command: unknown }).command, { form: 'shell', line: 'echo a   b' });
  assert.deepEqual((copy as { sources: unknown }).sources, ['c:\\dir\\x']);
});

test('a directive after an ordinary comment is just a comment', () => {
  const df = parseDockerfile('# hello\n# escape=`\nFROM busybox\nRUN a \\\n b\n');
  assert.equal(df.directives.escape, '\\');
  assert.deepEqual((df.stages[0]!.instructions[0] as { command: unknown }).command, { form: 'shell', line: 'a  b' });
});

function errorOf(text: string, file?: string): string {
  try {
    parseDockerfile(text, file);
  } catch (e) {
    assert.ok(e instanceof DockerfileError, `a DockerfileError, got ${String(e)}`);
    return e.message;
  }
  assert.fail('expected a parse error');
}

test('parse errors name the file and the line of the offending instruction', () => {
  assert.equal(errorOf('FROM busybox\n\nRUNN echo\n'), 'Dockerfile:3: unknown instruction: RUNN');
  assert.equal(errorOf('FROM busybox\nCOPY onlyone\n', 'app.Dockerfile'), 'app.Dockerfile:2: COPY requires at least two arguments, but only one was provided. Destination could not be determined.');
  assert.equal(errorOf('FROM a b\n'), 'Dockerfile:1: FROM requires either one or three arguments (FROM image [AS name])');
  assert.equal(errorOf('RUN x\nFROM a\n'), 'Dockerfile:1: RUN before FROM: the first instruction must be FROM (only ARG may come before it)');
  assert.equal(errorOf('FROM a\nENV A=1 B\n'), 'Dockerfile:2: syntax error - can\'t find = in "B". Must be of the form: name=value');
  assert.equal(errorOf('FROM a\nSHELL /bin/bash -c\n'), 'Dockerfile:2: SHELL requires the arguments to be in JSON form');
  assert.equal(errorOf('FROM a\nHEALTHCHECK --interval=5x CMD true\n'), 'Dockerfile:2: invalid duration "5x" (examples: 30s, 1m30s, 500ms)');
  assert.equal(errorOf('FROM a\nHEALTHCHECK WHAT true\n'), 'Dockerfile:2: unknown type "WHAT" in HEALTHCHECK (try CMD)');
  assert.equal(errorOf('FROM a\nCOPY --frm=x a b\n'), 'Dockerfile:2: unknown flag: --frm (COPY takes --from, --chown, --chmod)');
  assert.equal(errorOf('FROM a\nRUN --mount=type=cache,target=/x true\n'), 'Dockerfile:2: the --mount option requires BuildKit');
  assert.equal(errorOf('FROM a AS x\nFROM b AS X\n'), 'Dockerfile:2: duplicate stage name "x" (first used on line 1)');
  assert.equal(errorOf('FROM a AS 1x\n'), 'Dockerfile:1: invalid name for build stage: "1x", name can\'t start with a number or contain symbols');
  assert.equal(errorOf('FROM a\nONBUILD ONBUILD RUN x\n'), 'Dockerfile:2: chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  assert.equal(errorOf('FROM a\nWORKDIR\n'), 'Dockerfile:2: WORKDIR requires at least one argument');
  assert.equal(errorOf('# escape=x\nFROM a\n'), 'Dockerfile:1: invalid escape token \'x\' does not match ` or \\');
  assert.equal(errorOf('\n# only a comment\n'), 'Dockerfile: the Dockerfile cannot be empty');
  assert.equal(errorOf('ARG A\n'), 'Dockerfile: the Dockerfile has no FROM instruction');
  assert.equal(errorOf('FROM a\nRUN echo \\\n  ok\nEXPOS 80\n'), 'Dockerfile:4: unknown instruction: EXPOS');
});

test('Go durations parse to nanoseconds', () => {
  assert.equal(parseDuration('1m30s'), 90e9);
  assert.equal(parseDuration('1.5s'), 1.5e9);
  assert.equal(parseDuration('250ms'), 250e6);
  assert.equal(parseDuration('2h'), 7200e9);
  assert.equal(parseDuration('0'), 0);
});
