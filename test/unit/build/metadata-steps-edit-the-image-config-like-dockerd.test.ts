import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyMetadata, containerPath, nextState, scratchState, setEnv, validSignal, type MetadataInstruction } from '../../../worker/engine/build/build-state.js';
import { parseDockerfile } from '../../../worker/engine/build/dockerfile.js';
import type { OciContainerConfig } from '../../../worker/engine/image/oci-types.js';

function steps(body: string): MetadataInstruction[] {
  return parseDockerfile(`FROM scratch\n${body}`).stages[0]!.instructions as MetadataInstruction[];
}

function applyAll(body: string, start: OciContainerConfig = {}, args = new Map<string, string>()): OciContainerConfig {
  let cfg = start;
  let cmdSet = false;
  for (const s of steps(body)) {
    const r = applyMetadata(cfg, s, args, '\\', cmdSet);
    if (r.cmdSet) cmdSet = true;
    cfg = r.config;
  }
  return cfg;
}

test('ENV sees the values from before its own line; later ENV lines see earlier ones; ENV overrides an ARG', () => {
  const cfg = applyAll('ENV A=1\nENV A=2 B=$A\nENV C="${B} and $V"\n', { Env: ['PATH=/bin'] }, new Map([['V', 'arg'], ['A', 'ignored']]));
  assert.deepEqual(cfg.Env, ['PATH=/bin', 'A=2', 'B=1', 'C=1 and arg']);
});

test('CMD and ENTRYPOINT: shell form goes through SHELL; ENTRYPOINT drops an inherited CMD but not one set in the stage', () => {
  const inherited = applyAll('SHELL ["/bin/bash", "-c"]\nENTRYPOINT run.sh\n', { Cmd: ['old'] });
  assert.deepEqual(inherited.Entrypoint, ['/bin/bash', '-c', 'run.sh']);
  assert.equal(inherited.Cmd, null);
  const own = applyAll('CMD ["x"]\nENTRYPOINT ["/e"]\n', { Cmd: ['old'] });
  assert.deepEqual(own.Cmd, ['x']);
  assert.deepEqual(own.Entrypoint, ['/e']);
});

test('EXPOSE expands ranges and protocols; LABEL, USER, STOPSIGNAL, VOLUME, HEALTHCHECK and ONBUILD land in the config', () => {
  const cfg = applyAll('EXPOSE 80 53/udp 8000-8002\nLABEL "a b"=c d=$U\nUSER $U:grp\nSTOPSIGNAL SIGQUIT\nVOLUME ["/data"]\nHEALTHCHECK --interval=10s --retries=2 CMD ["curl", "-f", "x"]\nONBUILD RUN echo t\n', {}, new Map([['U', 'svc']]));
  assert.deepEqual(Object.keys(cfg.ExposedPorts ?? {}), ['80/tcp', '53/udp', '8000/tcp', '8001/tcp', '8002/tcp']);
  assert.deepEqual(cfg.Labels, { 'a b': 'c', d: 'svc' });
  assert.equal(cfg.User, 'svc:grp');
  assert.equal(cfg.StopSignal, 'SIGQUIT');
  assert.deepEqual(cfg.Volumes, { '/data': {} });
  assert.deepEqual(cfg.Healthcheck, { Test: ['CMD', 'curl', '-f', 'x'], Interval: 10e9, Retries: 2 });
  assert.deepEqual(cfg.OnBuild, ['RUN echo t']);
  assert.deepEqual(applyAll('HEALTHCHECK NONE\n').Healthcheck, { Test: ['NONE'] });
});

test('bad values in metadata steps are refused with the reason', () => {
  assert.throws(() => applyAll('EXPOSE 80/xyz\n'), /invalid containerPort: 80\/xyz/);
  assert.throws(() => applyAll('EXPOSE 90-80\n'), /invalid port range: 90-80/);
  assert.throws(() => applyAll('STOPSIGNAL SIGNOPE\n'), /invalid signal: SIGNOPE/);
  assert.ok(validSignal('9') && validSignal('TERM') && validSignal('SIGRTMIN+3') && !validSignal('0'));
});

test('each step appends history, sets created from the clock it is given, and a new config has a new ID', () => {
  const s0 = scratchState('amd64');
  const t = new Date('2024-01-02T03:04:05.000Z');
  const s1 = nextState(s0, { Env: ['A=1'] }, '/bin/sh -c #(nop)  ENV A=1', t);
  assert.notEqual(s1.id, s0.id);
  assert.equal(s1.config.created, '2024-01-02T03:04:05.000Z');
  assert.deepEqual(s1.config.history, [{ created: '2024-01-02T03:04:05.000Z', created_by: '/bin/sh -c #(nop)  ENV A=1', empty_layer: true }]);
  const again = nextState(s0, { Env: ['A=1'] }, '/bin/sh -c #(nop)  ENV A=1', t);
  assert.equal(again.id, s1.id, 'the same step at the same time is the same image');
  const layer = { diffId: `sha256:${'a'.repeat(64)}` as const, blob: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'b'.repeat(64)}` as const, size: 10 } };
  const s2 = nextState(s1, { Env: ['A=1'] }, 'echo', t, { layer });
  assert.deepEqual(s2.config.rootfs.diff_ids, [layer.diffId]);
  assert.deepEqual(s2.layers, [layer.blob]);
  assert.equal(s2.config.history?.[1]?.empty_layer, undefined);
});

test('container paths: WORKDIR and COPY destinations are cleaned and relative ones follow the working dir', () => {
  assert.equal(containerPath('b/../c', '/a'), '/a/c');
  assert.equal(containerPath('/x/./y/', '/a'), '/x/y');
  assert.equal(containerPath('.', undefined), '/');
  assert.deepEqual(setEnv(['A=1', 'B=2'], 'A', '3'), ['A=3', 'B=2']);
});
