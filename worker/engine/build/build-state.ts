/**
 * What a build has made so far, as data: the image config (container config, diff IDs, history) and
 * the layer blobs beside it. Steps that only change metadata are pure functions of the state, the
 * instruction, the variables in scope and the time (an input). Pure.
 */
import { sha256Of, type Digest } from '../image/digest.js';
import { canonicalJson, type Descriptor, type OciContainerConfig, type OciImageConfig } from '../image/oci-types.js';
import { DEFAULT_PATH } from '../container/create-plan.js';
import type { CmdInstruction, HealthcheckInstruction, Instruction, ListInstruction, PairsInstruction, WordInstruction } from './dockerfile-instructions.js';
import { processWord, processWords, type Env } from './shell-lex.js';

export interface BuildState {
  /** the config digest (the image ID this state would have) */
  id: Digest;
  config: OciImageConfig;
  /** blob descriptors, one per config.rootfs.diff_ids entry */
  layers: Descriptor[];
}

export class StepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepError';
  }
}

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** Serializes a config the way the store will hold it; the ID is the digest of these bytes. */
export function configBytes(config: OciImageConfig): Buffer {
  return canonicalJson(config);
}

export function withConfig(config: OciImageConfig, layers: Descriptor[]): BuildState {
  return { id: sha256Of(configBytes(config)), config, layers };
}

/** FROM scratch: no layers, the default PATH (as dockerd sets it). */
export function scratchState(arch: string): BuildState {
  return withConfig({ architecture: arch, os: 'linux', config: { Env: [DEFAULT_PATH] }, rootfs: { type: 'layers', diff_ids: [] }, history: [] }, []);
}

function cloneConfig(c: OciImageConfig): OciImageConfig {
  return JSON.parse(JSON.stringify(c)) as OciImageConfig;
}

export function containerConfig(s: BuildState): OciContainerConfig {
  return s.config.config ?? {};
}

/** The image's ENV as a map (later entries win). */
export function envMap(cfg: OciContainerConfig): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of cfg.Env ?? []) {
    const eq = e.indexOf('=');
    if (eq > 0) m.set(e.slice(0, eq), e.slice(eq + 1));
    else if (eq < 0) m.set(e, '');
  }
  return m;
}

/** Sets NAME=value in an Env list, replacing an earlier value in place. */
export function setEnv(list: readonly string[], name: string, value: string): string[] {
  const out = [...list];
  const i = out.findIndex((e) => e === name || e.startsWith(`${name}=`));
  if (i >= 0) out[i] = `${name}=${value}`;
  else out.push(`${name}=${value}`);
  return out;
}

/** Variables an instruction's words see: build args in scope, overridden by the image's ENV. */
export function expansionEnv(cfg: OciContainerConfig, args: ReadonlyMap<string, string>): Env {
  return new Map([...args, ...envMap(cfg)]);
}

/** The state after a step: new config, a history entry, optionally a new layer. */
export function nextState(prev: BuildState, cfg: OciContainerConfig, createdBy: string, now: Date, opts: { layer?: { diffId: Digest; blob: Descriptor }; author?: string } = {}): BuildState {
  const { layer } = opts;
  const config = cloneConfig(prev.config);
  const created = now.toISOString();
  config.created = created;
  if (opts.author !== undefined) config.author = opts.author;
  config.config = cfg;
  const history = [...(config.history ?? [])];
  if (layer !== undefined) {
    config.rootfs = { type: 'layers', diff_ids: [...config.rootfs.diff_ids, layer.diffId] };
    history.push({ created, created_by: createdBy });
  } else history.push({ created, created_by: createdBy, empty_layer: true });
  config.history = history;
  return withConfig(config, layer !== undefined ? [...prev.layers, layer.blob] : [...prev.layers]);
}

const nop = (text: string): string => `/bin/sh -c #(nop)  ${text}`;

/** CMD/ENTRYPOINT/RUN's argv: exec form as is, shell form through the SHELL. */
export function argvOf(cmd: CmdInstruction['command'], shell: readonly string[] | undefined): string[] {
  return cmd.form === 'exec' ? cmd.args : [...(shell && shell.length > 0 ? shell : DEFAULT_SHELL), cmd.line];
}

const SIGNALS = new Set(['ABRT', 'ALRM', 'BUS', 'CHLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL', 'PIPE', 'POLL', 'PROF', 'PWR', 'QUIT', 'SEGV', 'STKFLT', 'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'USR1', 'USR2', 'VTALRM', 'WINCH', 'XCPU', 'XFSZ']);

export function validSignal(s: string): boolean {
  if (/^\d+$/.test(s)) return Number(s) > 0 && Number(s) < 65;
  const n = s.toUpperCase().replace(/^SIG/, '');
  return SIGNALS.has(n) || /^RTMIN(\+\d+)?$|^RTMAX(-\d+)?$/.test(n);
}

function exposedPorts(words: string[]): string[] {
  const out: string[] = [];
  for (const w of words) {
    const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(w);
    if (m === null) throw new StepError(`invalid containerPort: ${w}`);
    const lo = Number(m[1]);
    const hi = m[2] !== undefined ? Number(m[2]) : lo;
    if (lo < 1 || hi > 65535 || hi < lo) throw new StepError(`invalid port range: ${w}`);
    const proto = (m[3] ?? 'tcp').toLowerCase();
    for (let p = lo; p <= hi; p++) out.push(`${p}/${proto}`);
  }
  return out;
}

/** An absolute, clean container path; relative ones are taken from `cwd`. */
export function containerPath(p: string, cwd: string | undefined): string {
  const joined = p.startsWith('/') ? p : `${cwd && cwd !== '' ? cwd : '/'}/${p}`;
  const parts: string[] = [];
  for (const x of joined.split('/')) {
    if (x === '' || x === '.') continue;
    if (x === '..') parts.pop();
    else parts.push(x);
  }
  return `/${parts.join('/')}`;
}

function healthOf(check: HealthcheckInstruction['check']): NonNullable<OciContainerConfig['Healthcheck']> {
  if (check === null) return { Test: ['NONE'] };
  const h: NonNullable<OciContainerConfig['Healthcheck']> & { StartInterval?: number } = { Test: check.test };
  if (check.intervalNs !== undefined) h.Interval = check.intervalNs;
  if (check.timeoutNs !== undefined) h.Timeout = check.timeoutNs;
  if (check.startPeriodNs !== undefined) h.StartPeriod = check.startPeriodNs;
  if (check.startIntervalNs !== undefined) h.StartInterval = check.startIntervalNs;
  if (check.retries !== undefined) h.Retries = check.retries;
  return h;
}

export type MetadataInstruction = PairsInstruction | WordInstruction | CmdInstruction | ListInstruction | HealthcheckInstruction | Extract<Instruction, { kind: 'shell' | 'onbuild' }>;

export function isMetadata(i: Instruction): i is MetadataInstruction {
  return ['env', 'label', 'user', 'stopsignal', 'maintainer', 'cmd', 'entrypoint', 'expose', 'volume', 'healthcheck', 'shell', 'onbuild'].includes(i.kind);
}

export interface MetaResult {
  config: OciContainerConfig;
  createdBy: string;
  /** MAINTAINER sets the image's author */
  author?: string;
  cmdSet?: boolean;
}

/**
 * The container config after a metadata instruction. `cmdSet` says whether this stage has set CMD:
 * ENTRYPOINT clears an inherited CMD, as dockerd does.
 */
export function applyMetadata(prev: OciContainerConfig, ins: MetadataInstruction, vars: ReadonlyMap<string, string>, escape: string, cmdSet: boolean): MetaResult {
  const cfg: OciContainerConfig = JSON.parse(JSON.stringify(prev)) as OciContainerConfig;
  const env = expansionEnv(prev, vars);
  const word = (w: string): string => processWord(w, env, escape);
  switch (ins.kind) {
    case 'env': {
      let list = cfg.Env ?? [];
      const shown: string[] = [];
      for (const [k, v] of ins.pairs) {
        const name = word(k);
        const value = word(v);
        if (name === '') throw new StepError('ENV names can not be blank');
        list = setEnv(list, name, value);
        shown.push(`${name}=${value}`);
      }
      cfg.Env = list;
      return { config: cfg, createdBy: nop(`ENV ${shown.join(' ')}`) };
    }
    case 'label': {
      const labels = { ...(cfg.Labels ?? {}) };
      const shown: string[] = [];
      for (const [k, v] of ins.pairs) {
        const name = word(k);
        const value = word(v);
        if (name === '') throw new StepError('LABEL names can not be blank');
        labels[name] = value;
        shown.push(`${name}=${value}`);
      }
      cfg.Labels = labels;
      return { config: cfg, createdBy: nop(`LABEL ${shown.join(' ')}`) };
    }
    case 'user': {
      const u = word(ins.value);
      if (u === '') throw new StepError('USER requires a user name or uid');
      cfg.User = u;
      return { config: cfg, createdBy: nop(`USER ${u}`) };
    }
    case 'stopsignal': {
      const s = word(ins.value);
      if (!validSignal(s)) throw new StepError(`invalid signal: ${s}`);
      cfg.StopSignal = s;
      return { config: cfg, createdBy: nop(`STOPSIGNAL ${s}`) };
    }
    case 'maintainer': {
      const m = word(ins.value);
      return { config: cfg, createdBy: nop(`MAINTAINER ${m}`), author: m };
    }
    case 'workdir':
      throw new StepError('WORKDIR is not a metadata-only step'); // handled by the executor
    case 'cmd': {
      cfg.Cmd = argvOf(ins.command, cfg.Shell as string[] | undefined);
      return { config: cfg, createdBy: nop(`CMD ${JSON.stringify(cfg.Cmd)}`), cmdSet: true };
    }
    case 'entrypoint': {
      cfg.Entrypoint = argvOf(ins.command, cfg.Shell as string[] | undefined);
      if (!cmdSet) cfg.Cmd = null;
      return { config: cfg, createdBy: nop(`ENTRYPOINT ${JSON.stringify(cfg.Entrypoint)}`) };
    }
    case 'expose': {
      const ports = exposedPorts(ins.values.flatMap((v) => processWords(v, env, escape)));
      const exposed = { ...(cfg.ExposedPorts ?? {}) };
      for (const p of ports) exposed[p] = {};
      cfg.ExposedPorts = exposed;
      return { config: cfg, createdBy: nop(`EXPOSE ${ports.join(' ')}`) };
    }
    case 'volume': {
      const vols = { ...(cfg.Volumes ?? {}) };
      const shown: string[] = [];
      for (const v of ins.values) {
        const p = word(v).trim();
        if (p === '') throw new StepError('VOLUME specified can not be an empty string');
        vols[p] = {};
        shown.push(p);
      }
      cfg.Volumes = vols;
      return { config: cfg, createdBy: nop(`VOLUME [${shown.join(' ')}]`) };
    }
    case 'healthcheck': {
      cfg.Healthcheck = healthOf(ins.check);
      return { config: cfg, createdBy: nop(`HEALTHCHECK ${ins.check === null ? 'NONE' : JSON.stringify(cfg.Healthcheck)}`) };
    }
    case 'shell': {
      cfg.Shell = ins.shell;
      return { config: cfg, createdBy: nop(`SHELL ${JSON.stringify(ins.shell)}`) };
    }
    case 'onbuild': {
      cfg.OnBuild = [...(cfg.OnBuild ?? []), ins.trigger];
      return { config: cfg, createdBy: nop(`ONBUILD ${ins.trigger}`) };
    }
  }
}
