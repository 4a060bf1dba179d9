/**
 * Docker's `import --change` / `commit --change`: Dockerfile instructions that edit an image config
 * (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR, VOLUME, STOPSIGNAL, ONBUILD).
 */
import { badImageInput } from './errors.js';
import type { OciContainerConfig } from './oci-types.js';

/** Splits `a=b "c d"=e f='g h'` into words, honouring quotes and backslash escapes. */
export function splitWords(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: '"' | "'" | undefined;
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i]!;
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i]!;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote !== undefined) throw badImageInput(`unterminated quote in ${JSON.stringify(s)}`);
  if (inWord) out.push(cur);
  return out;
}

/** The JSON (exec) form `["a","b"]`, or the shell form wrapped in `/bin/sh -c`. */
function commandOf(arg: string, what: string): string[] {
  const t = arg.trim();
  if (t.startsWith('[')) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch (e) {
      throw badImageInput(`${what}: invalid JSON array ${t}`, e);
    }
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw badImageInput(`${what}: expected a JSON array of strings`);
    return v;
  }
  if (t === '') throw badImageInput(`${what} needs an argument`);
  return ['/bin/sh', '-c', t];
}

/** key=value pairs, or the legacy single `KEY value` form. */
function pairsOf(arg: string, what: string): [string, string][] {
  const words = splitWords(arg);
  if (words.length === 0) throw badImageInput(`${what} needs at least one key=value`);
  if (!words[0]!.includes('=')) {
    const m = /^\s*(\S+)\s+(.*)$/s.exec(arg);
    if (m === null) throw badImageInput(`${what} ${arg}: expected KEY=VALUE or KEY VALUE`);
    return [[m[1]!, m[2]!.trim()]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw badImageInput(`${what}: ${JSON.stringify(w)} is not KEY=VALUE`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

/** Applies each change line to a copy of `base`; an unknown or malformed instruction is a 400. */
export function applyChanges(base: OciContainerConfig, changes: readonly string[]): OciContainerConfig {
  const c: OciContainerConfig = structuredClone(base);
  for (const line of changes) {
    const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(line);
    if (m === null) throw badImageInput(`invalid change ${JSON.stringify(line)}`);
    const op = m[1]!.toUpperCase();
    const arg = m[2]!;
    switch (op) {
      case 'CMD':
        c.Cmd = commandOf(arg, 'CMD');
        break;
      case 'ENTRYPOINT':
        c.Entrypoint = commandOf(arg, 'ENTRYPOINT');
        break;
      case 'ENV': {
        const env = [...(c.Env ?? [])];
        for (const [k, v] of pairsOf(arg, 'ENV')) {
          const i = env.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        c.Env = env;
        break;
      }
      case 'LABEL':
        c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(pairsOf(arg, 'LABEL')) };
        break;
      case 'EXPOSE': {
        const ports = { ...(c.ExposedPorts ?? {}) };
        for (const p of splitWords(arg)) {
          const pm = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(p);
          if (pm === null || Number(pm[1]) > 65535) throw badImageInput(`EXPOSE: invalid port ${JSON.stringify(p)}`);
          ports[`${Number(pm[1])}/${(pm[2] ?? 'tcp').toLowerCase()}`] = {};
        }
        c.ExposedPorts = ports;
        break;
      }
      case 'USER':
        if (arg.trim() === '') throw badImageInput('USER needs an argument');
        c.User = arg.trim();
        break;
      case 'WORKDIR': {
        const w = arg.trim();
        if (w === '') throw badImageInput('WORKDIR needs an argument');
        c.WorkingDir = w.startsWith('/') ? w : `${c.WorkingDir ?? '/'}${(c.WorkingDir ?? '/').endsWith('/') ? '' : '/'}${w}`;
        break;
      }
      case 'VOLUME': {
        const t = arg.trim();
        const vols = t.startsWith('[') ? commandOf(t, 'VOLUME') : splitWords(t);
        if (vols.length === 0) throw badImageInput('VOLUME needs a path');
        c.Volumes = { ...(c.Volumes ?? {}), ...Object.fromEntries(vols.map((v) => [v, {}])) };
        break;
      }
      case 'STOPSIGNAL':
        if (arg.trim() === '') throw badImageInput('STOPSIGNAL needs a signal');
        c.StopSignal = arg.trim();
        break;
      case 'ONBUILD':
        c.OnBuild = [...(c.OnBuild ?? []), arg.trim()];
        break;
      default:
        throw badImageInput(`${op} is not a valid change command (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR)`);
    }
  }
  return c;
}
