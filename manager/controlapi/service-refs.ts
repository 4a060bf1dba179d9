/**
 * A service's secret and config references, checked against the store in the transaction that writes
 * the service (SwarmKit's validateSecretRefsSpec / checkSecretExistence and the config twins). A
 * reference may name the object by ID or by name (the docker CLI sends both); both are filled in.
 * File targets default as the docker CLI makes them (secrets /run/secrets/<name>, configs /<name>,
 * uid 0, gid 0, mode 0444) and must not collide.
 */
import type { ConfigReference, ReadTx, SecretReference, ServiceSpec } from '../store/index.js';
import { ValidationError } from './validate.js';

const fail = (msg: string): never => {
  throw new ValidationError(msg);
};

type Ref = SecretReference | ConfigReference;

function resolve(tx: ReadTx, kind: 'secrets' | 'configs', ref: Ref, i: number): { ID: string; Name: string } {
  const isSecret = kind === 'secrets';
  const id = isSecret ? (ref as SecretReference).SecretID : (ref as ConfigReference).ConfigID;
  const name = isSecret ? (ref as SecretReference).SecretName : (ref as ConfigReference).ConfigName;
  const what = isSecret ? 'secret' : 'config';
  const field = `TaskTemplate.ContainerSpec.${isSecret ? 'Secrets' : 'Configs'}[${i}]`;
  const obj = id ? tx.get(kind, id) : tx.find(kind, { name }).find((o) => o.Spec.Name === name);
  // SwarmKit: the object must exist and carry the name the reference gives
  if (!obj || (name !== '' && obj.Spec.Name !== name)) {
    throw new ValidationError(`${field}: rpc error: code = InvalidArgument desc = ${what} not found: ${name || id}`);
  }
  return { ID: obj.ID, Name: obj.Spec.Name };
}

/**
 * Fills in IDs, names and default targets of `spec`'s references (in place) and checks that every
 * referenced secret and config exists and that no two references share a target. Throws ValidationError.
 */
export function resolveServiceRefs(tx: ReadTx, spec: ServiceSpec): void {
  const cs = spec.TaskTemplate.ContainerSpec;
  const targets = new Map<string, string>();
  const claim = (target: string, name: string, what: string, field: string): void => {
    const prev = targets.get(target);
    if (prev !== undefined) fail(`${field}: ${what} references '${prev}' and '${name}' have a conflicting target: '${target}'`);
    targets.set(target, name);
  };
  (cs.Secrets ?? []).forEach((r, i) => {
    const o = resolve(tx, 'secrets', r, i);
    r.SecretID = o.ID;
    r.SecretName = o.Name;
    if (!r.File) r.File = { Name: o.Name, UID: '0', GID: '0', Mode: 0o444 };
    const target = r.File.Name.startsWith('/') ? r.File.Name : `/run/secrets/${r.File.Name}`;
    claim(target, o.Name, 'secret', `TaskTemplate.ContainerSpec.Secrets[${i}].File.Name`);
  });
  (cs.Configs ?? []).forEach((r, i) => {
    const o = resolve(tx, 'configs', r, i);
    r.ConfigID = o.ID;
    r.ConfigName = o.Name;
    if (r.Runtime) return;
    if (!r.File) r.File = { Name: `/${o.Name}`, UID: '0', GID: '0', Mode: 0o444 };
    const target = r.File.Name.startsWith('/') ? r.File.Name : `/${r.File.Name}`;
    claim(target, o.Name, 'config', `TaskTemplate.ContainerSpec.Configs[${i}].File.Name`);
  });
}
