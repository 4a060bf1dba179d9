/**
 * The second pass: each raw instruction becomes a typed one (flags, JSON or shell form, key=value
 * pairs, HEALTHCHECK options). Words that take variables stay unexpanded here — their values depend
 * on the environment at the time the step runs (the base image's ENV among it) — and are expanded by
 * the dispatcher with shell-lex. Pure.
 */
import { DockerfileError } from './dockerfile-error.js';
import type { Directives, RawInstruction } from './dockerfile-lines.js';

/** A command in exec form (JSON array) or shell form (one string for the SHELL). */
export type CommandForm = { form: 'exec'; args: string[] } | { form: 'shell'; line: string };

interface Base {
  line: number;
  original: string;
}

export interface FromInstruction extends Base {
  kind: 'from';
  image: string;
  stageName?: string;
  platform?: string;
}
export interface RunInstruction extends Base {
  kind: 'run';
  command: CommandForm;
}
export interface CopyInstruction extends Base {
  kind: 'copy' | 'add';
  sources: string[];
  dest: string;
  from?: string;
  chown?: string;
  chmod?: string;
}
export interface ArgInstruction extends Base {
  kind: 'arg';
  args: { name: string; value?: string }[];
}
export interface PairsInstruction extends Base {
  kind: 'env' | 'label';
  /** raw (unexpanded) key and value words */
  pairs: [string, string][];
}
export interface WordInstruction extends Base {
  kind: 'user' | 'workdir' | 'stopsignal' | 'maintainer';
  value: string;
}
export interface CmdInstruction extends Base {
  kind: 'cmd' | 'entrypoint';
  command: CommandForm;
}
export interface ListInstruction extends Base {
  kind: 'expose' | 'volume';
  values: string[];
}
export interface ShellInstruction extends Base {
  kind: 'shell';
  shell: string[];
}
export interface HealthcheckInstruction extends Base {
  kind: 'healthcheck';
  /** null for HEALTHCHECK NONE */
  check: null | { test: string[]; intervalNs?: number; timeoutNs?: number; startPeriodNs?: number; startIntervalNs?: number; retries?: number };
}
export interface OnbuildInstruction extends Base {
  kind: 'onbuild';
  /** the trigger as written ("RUN echo hi") */
  trigger: string;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CopyInstruction
  | ArgInstruction
  | PairsInstruction
  | WordInstruction
  | CmdInstruction
  | ListInstruction
  | ShellInstruction
  | HealthcheckInstruction
  | OnbuildInstruction;

export const KEYWORDS = ['FROM', 'RUN', 'CMD', 'ENTRYPOINT', 'COPY', 'ADD', 'ARG', 'ENV', 'LABEL', 'USER', 'WORKDIR', 'EXPOSE', 'VOLUME', 'SHELL', 'HEALTHCHECK', 'STOPSIGNAL', 'ONBUILD', 'MAINTAINER'] as const;
const KEYWORD_SET = new Set<string>(KEYWORDS);

class Fail {
  constructor(readonly message: string) {}
}
const fail = (message: string): never => {
  throw new Fail(message);
};

/** Leading `--name=value` / `--name` flags, checked against the allowed names. */
function takeFlags(rest: string, keyword: string, allowed: Record<string, 'string' | 'bool'>, buildkitOnly: string[] = []): { flags: Map<string, string>; rest: string } {
  const flags = new Map<string, string>();
  let r = rest;
  for (;;) {
    const m = /^--([A-Za-z0-9-]*)(=("[^"]*"|\S*))?(\s+|$)/.exec(r);
    if (m === null) break;
    r = r.slice(m[0].length);
    const name = m[1]!;
    if (name === '') break; // "--" ends the flags
    if (buildkitOnly.includes(name)) fail(`the --${name} option requires BuildKit`);
    const kind = allowed[name];
    if (kind === undefined) fail(`unknown flag: --${name} (${keyword} takes ${Object.keys(allowed).map((k) => `--${k}`).join(', ') || 'no flags'})`);
    if (flags.has(name)) fail(`duplicate flag specified: --${name}`);
    let value = m[3];
    if (value !== undefined && value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (kind === 'string') {
      if (value === undefined) fail(`missing a value on flag: --${name}`);
      flags.set(name, value!);
    } else {
      if (value !== undefined && value !== 'true' && value !== 'false') fail(`expecting boolean value for flag ${name}, not: ${value}`);
      flags.set(name, value ?? 'true');
    }
  }
  return { flags, rest: r.trim() };
}

/** `["a","b"]` → the list; anything else → undefined. */
function jsonList(rest: string): string[] | undefined {
  if (!rest.startsWith('[')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(rest);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return undefined;
  return v as string[];
}

function commandOf(rest: string): CommandForm {
  const list = jsonList(rest);
  return list !== undefined ? { form: 'exec', args: list } : { form: 'shell', line: rest };
}

/** moby's parseWords: words split on blanks, quotes and escapes kept for the later expansion. */
export function splitRawWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  let word = '';
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let quote = '';
  let blankOk = false;
  const chars = [...rest];
  for (let i = 0; i <= chars.length; i++) {
    const ch = chars[i];
    if (phase === 'spaces') {
      if (ch === undefined) break;
      if (/\s/.test(ch)) continue;
      phase = 'word';
    }
    if (ch === undefined) {
      if (blankOk || word.length > 0) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (/\s/.test(ch)) {
        phase = 'spaces';
        if (blankOk || word.length > 0) words.push(word);
        word = '';
        blankOk = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
        phase = 'quote';
        word += ch;
        continue;
      }
      if (ch === escape) {
        if (i + 1 === chars.length) continue;
        word += ch + chars[++i]!;
        continue;
      }
      word += ch;
      continue;
    }
    // in a quote
    if (ch === quote) phase = 'word';
    if (ch === escape && quote !== "'") {
      if (i + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      word += ch + chars[++i]!;
      continue;
    }
    word += ch;
  }
  return words;
}

/** ENV and LABEL: `k=v k2="v 2"`, or the legacy `KEY value with spaces`. */
function pairsOf(rest: string, keyword: string, escape: string): [string, string][] {
  const words = splitRawWords(rest, escape);
  if (words.length === 0) fail(`${keyword} requires at least one argument`);
  if (!words[0]!.includes('=')) {
    // legacy form: the first word is the key, the rest of the line the value
    const m = /^\S+\s+([\s\S]*)$/.exec(rest);
    if (m === null || m[1]!.trim() === '') fail(`${keyword} must have two arguments`);
    return [[words[0]!, m![1]!.trim()]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) fail(`syntax error - can't find = in ${JSON.stringify(w)}. Must be of the form: name=value`);
    if (eq === 0) fail(`${keyword} names can not be blank`);
    return [w.slice(0, eq), w.slice(eq + 1)] as [string, string];
  });
}

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds. */
export function parseDuration(s: string): number {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos !== s.length || s === '') fail(`invalid duration ${JSON.stringify(s)} (examples: 30s, 1m30s, 500ms)`);
  return Math.round(total);
}

function healthcheckOf(rest: string): HealthcheckInstruction['check'] {
  const { flags, rest: r } = takeFlags(rest, 'HEALTHCHECK', { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' });
  const m = /^(\S+)\s*([\s\S]*)$/.exec(r);
  if (m === null) fail('HEALTHCHECK requires an argument');
  const type = m![1]!.toUpperCase();
  const args = m![2]!.trim();
  if (type === 'NONE') {
    if (args !== '' || flags.size > 0) fail('HEALTHCHECK NONE takes no arguments');
    return null;
  }
  if (type !== 'CMD') fail(`unknown type ${JSON.stringify(type)} in HEALTHCHECK (try CMD)`);
  if (args === '') fail('missing command after HEALTHCHECK CMD');
  const cmd = commandOf(args);
  const check: NonNullable<HealthcheckInstruction['check']> = { test: cmd.form === 'exec' ? ['CMD', ...cmd.args] : ['CMD-SHELL', cmd.line] };
  const dur = (flag: string): number | undefined => {
    const v = flags.get(flag);
    if (v === undefined) return undefined;
    const ns = parseDuration(v);
    if (ns !== 0 && ns < 1e6) fail(`--${flag} cannot be less than 1ms`);
    return ns;
  };
  const interval = dur('interval');
  const timeout = dur('timeout');
  const startPeriod = dur('start-period');
  const startInterval = dur('start-interval');
  if (interval !== undefined) check.intervalNs = interval;
  if (timeout !== undefined) check.timeoutNs = timeout;
  if (startPeriod !== undefined) check.startPeriodNs = startPeriod;
  if (startInterval !== undefined) check.startIntervalNs = startInterval;
  const retries = flags.get('retries');
  if (retries !== undefined) {
    if (!/^\d+$/.test(retries)) fail(`--retries must be a whole number, not ${JSON.stringify(retries)}`);
    const n = Number(retries);
    if (n < 1) fail('--retries must be at least 1');
    check.retries = n;
  }
  return check;
}

const needArgs = (rest: string, keyword: string): void => {
  if (rest === '') fail(`${keyword} requires at least one argument`);
};

function parseOne(raw: RawInstruction, d: Directives, inOnbuild: boolean): Instruction {
  const base = { line: raw.line, original: raw.original };
  const k = raw.keyword;
  if (!KEYWORD_SET.has(k)) fail(`unknown instruction: ${k}`);
  const rest = raw.rest;
  switch (k) {
    case 'FROM': {
      const { flags, rest: r } = takeFlags(rest, 'FROM', { platform: 'string' });
      const words = r.split(/\s+/).filter((w) => w !== '');
      if (words.length !== 1 && !(words.length === 3 && words[1]!.toUpperCase() === 'AS')) fail('FROM requires either one or three arguments (FROM image [AS name])');
      const out: FromInstruction = { ...base, kind: 'from', image: words[0]! };
      if (words.length === 3) out.stageName = words[2]!;
      const platform = flags.get('platform');
      if (platform !== undefined) out.platform = platform;
      return out;
    }
    case 'RUN': {
      const { rest: r } = takeFlags(rest, 'RUN', {}, ['mount', 'network', 'security']);
      needArgs(r, 'RUN');
      return { ...base, kind: 'run', command: commandOf(r) };
    }
    case 'CMD':
    case 'ENTRYPOINT': {
      const kind = k === 'CMD' ? 'cmd' : 'entrypoint';
      if (rest === '') return { ...base, kind, command: { form: 'exec', args: [] } };
      return { ...base, kind, command: commandOf(rest) };
    }
    case 'COPY':
    case 'ADD': {
      const allowed: Record<string, 'string' | 'bool'> = k === 'COPY' ? { from: 'string', chown: 'string', chmod: 'string' } : { chown: 'string', chmod: 'string' };
      const { flags, rest: r } = takeFlags(rest, k, allowed, ['link', 'parents', 'exclude', 'checksum', 'keep-git-dir']);
      const list = jsonList(r) ?? r.split(/\s+/).filter((w) => w !== '');
      if (list.length < 2) fail(`${k} requires at least two arguments, but only ${list.length === 0 ? 'none were' : 'one was'} provided. Destination could not be determined.`);
      const out: CopyInstruction = { ...base, kind: k === 'COPY' ? 'copy' : 'add', sources: list.slice(0, -1), dest: list[list.length - 1]! };
      const from = flags.get('from');
      if (from !== undefined) {
        if (from === '') fail('--from needs a stage name, a stage index or an image');
        out.from = from;
      }
      const chown = flags.get('chown');
      if (chown !== undefined && chown !== '') out.chown = chown;
      const chmod = flags.get('chmod');
      if (chmod !== undefined && chmod !== '') {
        if (!/^[0-7]{3,4}$/.test(chmod)) fail(`invalid --chmod ${JSON.stringify(chmod)}: an octal mode such as 755 is expected`);
        out.chmod = chmod;
      }
      return out;
    }
    case 'ARG': {
      const words = splitRawWords(rest, d.escape);
      if (words.length === 0) fail('ARG requires at least one argument');
      const args = words.map((w) => {
        const eq = w.indexOf('=');
        const name = eq < 0 ? w : w.slice(0, eq);
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(`invalid ARG name ${JSON.stringify(name)}`);
        return eq < 0 ? { name } : { name, value: w.slice(eq + 1) };
      });
      return { ...base, kind: 'arg', args };
    }
    case 'ENV':
    case 'LABEL':
      return { ...base, kind: k === 'ENV' ? 'env' : 'label', pairs: pairsOf(rest, k, d.escape) };
    case 'USER':
    case 'WORKDIR':
    case 'STOPSIGNAL':
    case 'MAINTAINER':
      needArgs(rest, k);
      return { ...base, kind: k.toLowerCase() as WordInstruction['kind'], value: rest };
    case 'EXPOSE':
    case 'VOLUME': {
      needArgs(rest, k);
      const values = k === 'VOLUME' ? (jsonList(rest) ?? rest.split(/\s+/)) : rest.split(/\s+/);
      const nonEmpty = values.filter((v) => v.trim() !== '');
      if (nonEmpty.length === 0) fail(`${k} specified can not be an empty string`);
      return { ...base, kind: k === 'EXPOSE' ? 'expose' : 'volume', values: nonEmpty };
    }
    case 'SHELL': {
      const list = jsonList(rest);
      if (list === undefined) fail('SHELL requires the arguments to be in JSON form');
      if (list!.length === 0) fail('SHELL requires at least one argument');
      return { ...base, kind: 'shell', shell: list! };
    }
    case 'HEALTHCHECK':
      needArgs(rest, k);
      return { ...base, kind: 'healthcheck', check: healthcheckOf(rest) };
    case 'ONBUILD': {
      needArgs(rest, k);
      if (inOnbuild) fail('chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      const m = /^(\S+)\s*([\s\S]*)$/.exec(rest)!;
      const sub = m[1]!.toUpperCase();
      if (sub === 'ONBUILD') fail('chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (sub === 'FROM' || sub === 'MAINTAINER') fail(`${sub} isn't allowed as an ONBUILD trigger`);
      // the trigger must itself parse
      parseOne({ keyword: sub, rest: m[2]!.trim(), original: rest, line: raw.line }, d, true);
      return { ...base, kind: 'onbuild', trigger: `${sub} ${m[2]!.trim()}`.trim() };
    }
    default:
      return fail(`unknown instruction: ${k}`);
  }
}

/** Parses one raw instruction; errors name the file and line. */
export function parseInstruction(raw: RawInstruction, d: Directives, file = 'Dockerfile'): Instruction {
  try {
    return parseOne(raw, d, false);
  } catch (e) {
    if (e instanceof Fail) throw new DockerfileError(file, raw.line, e.message);
    throw e;
  }
}
