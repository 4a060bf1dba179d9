/**
 * Reading a compose file for `shoal stack deploy`: YAML (the `yaml` library), variable interpolation
 * from the environment and the .env file beside the compose file ($VAR, ${VAR}, ${VAR:-default},
 * ${VAR-default}, ${VAR:?message}, ${VAR?message}, $$), and a check of the keys this implementation
 * knows. Every error names the place (`services.web.ports[0]: …`). Pure apart from `loadCompose`, which
 * reads the files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';

export class ComposeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ComposeError';
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type ComposeMap = Record<string, Json>;

const TOP_KEYS = new Set(['version', 'name', 'services', 'networks', 'volumes', 'secrets', 'configs']);
export const SERVICE_KEYS = new Set([
  'image', 'command', 'entrypoint', 'environment', 'env_file', 'ports', 'networks', 'volumes', 'secrets', 'configs', 'deploy',
  'healthcheck', 'labels', 'hostname', 'user', 'working_dir', 'stop_grace_period', 'stop_signal', 'tty', 'read_only', 'init',
  'extra_hosts', 'dns', 'dns_search', 'depends_on', 'container_name', 'restart', 'build', 'logging', 'cap_add', 'cap_drop',
]);
const DEPLOY_KEYS = new Set(['mode', 'replicas', 'placement', 'resources', 'restart_policy', 'update_config', 'rollback_config', 'labels', 'endpoint_mode']);

const isMap = (x: unknown): x is ComposeMap => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Parses a .env file: KEY=VALUE lines, # comments, optional quotes. */
export function parseDotEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!;
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    out[m[1]!] = v;
  }
  return out;
}

/** Substitutes variables in one string value; `where` names it in errors. */
export function interpolate(s: string, env: Record<string, string | undefined>, where: string): string {
  return s.replace(/\$(?:\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (all, braced: string | undefined, bare: string | undefined) => {
    if (all === '$$') return '$';
    if (bare !== undefined) {
      const v = env[bare];
      if (v === undefined) throw new ComposeError(`${where}: variable ${bare} is not set and has no default`);
      return v;
    }
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])(.*))?$/s.exec(braced ?? '');
    if (!m) throw new ComposeError(`${where}: invalid interpolation format for "${all}"`);
    const [, name, colon, op, arg] = m as unknown as [string, string, string | undefined, string | undefined, string | undefined];
    const v = env[name];
    const missing = v === undefined || (colon === ':' && v === '');
    if (op === '-') return missing ? interpolate(arg ?? '', env, where) : v!;
    if (op === '?') {
      if (missing) throw new ComposeError(`${where}: required variable ${name} is missing a value${arg ? `: ${arg}` : ''}`);
      return v!;
    }
    if (v === undefined) throw new ComposeError(`${where}: variable ${name} is not set and has no default`);
    return v;
  });
}

function interpolateTree(x: Json, env: Record<string, string | undefined>, where: string): Json {
  if (typeof x === 'string') return interpolate(x, env, where);
  if (Array.isArray(x)) return x.map((v, i) => interpolateTree(v, env, `${where}[${i}]`));
  if (isMap(x)) {
    const out: ComposeMap = {};
    for (const [k, v] of Object.entries(x)) out[k] = interpolateTree(v, env, where === '' ? k : `${where}.${k}`);
    return out;
  }
  return x;
}

export interface ComposeProject {
  /** the directory relative paths (env_file, secret/config files, bind mounts) are resolved against */
  dir: string;
  model: ComposeMap;
}

/** Parses and checks compose text (interpolated with `env`). */
export function parseCompose(text: string, env: Record<string, string | undefined>, dir: string, file = 'compose.yml'): ComposeProject {
  let doc: unknown;
  try {
    // YAML 1.1 as Go's yaml does for compose files: 0440 is octal (file modes), yes/no are booleans
    doc = parseYaml(text, { uniqueKeys: true, merge: true, version: '1.1' });
  } catch (e) {
    const where = e instanceof YAMLParseError && e.linePos ? ` (line ${e.linePos[0].line}, column ${e.linePos[0].col})` : '';
    throw new ComposeError(`${file}: not valid YAML${where}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!isMap(doc)) throw new ComposeError(`${file}: the top level must be a mapping`);
  for (const k of Object.keys(doc)) {
    if (!TOP_KEYS.has(k) && !k.startsWith('x-')) throw new ComposeError(`${file}: unknown top-level key "${k}" (known: ${[...TOP_KEYS].join(', ')}, x-*)`);
  }
  const model = interpolateTree(doc as Json, env, '') as ComposeMap;
  const services = model.services;
  if (!isMap(services) || Object.keys(services).length === 0) throw new ComposeError(`${file}: services: at least one service is required`);
  for (const [name, svc] of Object.entries(services)) {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw new ComposeError(`services.${name}: invalid service name`);
    if (!isMap(svc)) throw new ComposeError(`services.${name}: must be a mapping`);
    for (const k of Object.keys(svc)) {
      if (!SERVICE_KEYS.has(k) && !k.startsWith('x-')) throw new ComposeError(`services.${name}: unknown key "${k}"`);
    }
    if (typeof svc.image !== 'string' || svc.image === '') throw new ComposeError(`services.${name}.image: an image is required (stack deploy does not build)`);
    if (svc.deploy !== undefined) {
      if (!isMap(svc.deploy)) throw new ComposeError(`services.${name}.deploy: must be a mapping`);
      for (const k of Object.keys(svc.deploy)) if (!DEPLOY_KEYS.has(k)) throw new ComposeError(`services.${name}.deploy: unknown key "${k}"`);
    }
  }
  for (const section of ['networks', 'volumes', 'secrets', 'configs'] as const) {
    const v = model[section];
    if (v !== undefined && v !== null && !isMap(v)) throw new ComposeError(`${section}: must be a mapping`);
  }
  return { dir, model };
}

/** Reads `file`, the .env beside it, and parses with the process environment taking precedence. */
export function loadCompose(file: string, processEnv: NodeJS.ProcessEnv): ComposeProject {
  const dir = dirname(isAbsolute(file) ? file : join(process.cwd(), file));
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ComposeError(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const dotenvPath = join(dir, '.env');
  const dotenv = existsSync(dotenvPath) ? parseDotEnv(readFileSync(dotenvPath, 'utf8')) : {};
  return parseCompose(text, { ...dotenv, ...processEnv }, dir, file);
}
