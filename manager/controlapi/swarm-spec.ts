/**
 * The swarm spec of `POST /swarm/init` and `POST /swarm/update`, merged as moby's
 * MergeSwarmSpecToGRPC does: a zero or missing field keeps the current value (the docker CLI sends the
 * whole spec, dockerode often a part), Labels are replaced, EncryptionConfig.AutoLockManagers is applied
 * whenever it is given (false turns autolock off; a part without it keeps the current value). Then
 * SwarmKit's checks. Pure.
 */
import { defaultSwarmSpec, type SwarmSpec } from '../store/index.js';
import { badRequest } from './control-error.js';

const NS = 1_000_000_000;
const MIN_CERT_EXPIRY_NS = 3600 * NS;

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function num(o: Record<string, unknown>, k: string, field: string): number | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw badRequest(`${field}: ${JSON.stringify(v)} is not an integer`);
  return v;
}

function section(o: Record<string, unknown>, k: string): Record<string, unknown> {
  const v = o[k];
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw badRequest(`Spec.${k}: must be an object`);
  return v;
}

/** `current` with the non-zero fields of `raw` applied; throws 400 naming the field. */
export function mergeSwarmSpec(current: SwarmSpec, raw: unknown): SwarmSpec {
  if (raw === undefined || raw === null) return current;
  if (!isObj(raw)) throw badRequest('Spec: must be a JSON object');
  const out: SwarmSpec = structuredClone(current);
  if (typeof raw.Name === 'string' && raw.Name !== '') out.Name = raw.Name;
  if (raw.Labels !== undefined && raw.Labels !== null) {
    if (!isObj(raw.Labels) || Object.values(raw.Labels).some((v) => typeof v !== 'string')) throw badRequest('Spec.Labels: must be a map of strings');
    out.Labels = raw.Labels as Record<string, string>;
  } else if ('Labels' in raw) out.Labels = {};
  const orch = section(raw, 'Orchestration');
  const limit = num(orch, 'TaskHistoryRetentionLimit', 'Spec.Orchestration.TaskHistoryRetentionLimit');
  if (limit !== undefined) {
    if (limit < 0) throw badRequest('Spec.Orchestration.TaskHistoryRetentionLimit: must be non-negative');
    out.Orchestration.TaskHistoryRetentionLimit = limit;
  }
  const raft = section(raw, 'Raft');
  for (const k of ['SnapshotInterval', 'KeepOldSnapshots', 'LogEntriesForSlowFollowers', 'ElectionTick', 'HeartbeatTick'] as const) {
    const v = num(raft, k, `Spec.Raft.${k}`);
    if (v === undefined || (v === 0 && k !== 'KeepOldSnapshots')) continue;
    if (v < 0) throw badRequest(`Spec.Raft.${k}: must be non-negative`);
    out.Raft[k] = v;
  }
  if (out.Raft.ElectionTick <= out.Raft.HeartbeatTick) throw badRequest('Spec.Raft.ElectionTick: must be greater than HeartbeatTick');
  const disp = section(raw, 'Dispatcher');
  const hb = num(disp, 'HeartbeatPeriod', 'Spec.Dispatcher.HeartbeatPeriod');
  if (hb !== undefined && hb !== 0) {
    if (hb < 0) throw badRequest('Spec.Dispatcher.HeartbeatPeriod: heartbeat period must be positive');
    out.Dispatcher.HeartbeatPeriod = hb;
  }
  const ca = section(raw, 'CAConfig');
  const exp = num(ca, 'NodeCertExpiry', 'Spec.CAConfig.NodeCertExpiry');
  if (exp !== undefined && exp !== 0) {
    if (exp < MIN_CERT_EXPIRY_NS) throw badRequest('Spec.CAConfig.NodeCertExpiry: minimum certificate expiry time is 1h0m0s');
    out.CAConfig.NodeCertExpiry = exp;
  }
  if (Array.isArray(ca.ExternalCAs) && ca.ExternalCAs.length > 0) throw badRequest('Spec.CAConfig.ExternalCAs: external CAs are not supported by shoal');
  if (isObj(raw.TaskDefaults)) out.TaskDefaults = raw.TaskDefaults as SwarmSpec['TaskDefaults'];
  // autolock: a boolean that is present is applied (false is how `--autolock=false` turns it off)
  const enc = section(raw, 'EncryptionConfig');
  const lock = enc.AutoLockManagers;
  if (lock !== undefined && lock !== null) {
    if (typeof lock !== 'boolean') throw badRequest(`Spec.EncryptionConfig.AutoLockManagers: ${JSON.stringify(lock)} is not a boolean`);
    out.EncryptionConfig = { AutoLockManagers: lock };
  }
  return out;
}

/** The spec of a new swarm: Docker's defaults under whatever `swarm init` sent. */
export function initSwarmSpec(raw: unknown): SwarmSpec {
  return mergeSwarmSpec(defaultSwarmSpec(), raw);
}
