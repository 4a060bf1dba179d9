// Prometheus metrics of one RaftNode, registered in the registry the caller passes in.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class RaftMetrics {
  readonly term: Gauge;
  readonly commit: Gauge;
  readonly applied: Gauge;
  readonly isLeader: Gauge;
  readonly leaderChanges: Counter;
  readonly proposalsApplied: Counter;
  readonly proposalsFailed: Counter;
  readonly fsyncs: Counter;
  readonly snapshots: Counter;
  readonly proposalSeconds: Histogram;

  constructor(registry: Registry, prefix = 'shoal_raft_') {
    const registers = [registry];
    this.term = new Gauge({ name: `${prefix}term`, help: 'Current Raft term', registers });
    this.commit = new Gauge({ name: `${prefix}commit_index`, help: 'Commit index', registers });
    this.applied = new Gauge({ name: `${prefix}applied_index`, help: 'Applied index', registers });
    this.isLeader = new Gauge({ name: `${prefix}is_leader`, help: '1 when this node leads', registers });
    this.leaderChanges = new Counter({ name: `${prefix}leader_changes_total`, help: 'Leader changes seen', registers });
    this.proposalsApplied = new Counter({ name: `${prefix}proposals_applied_total`, help: 'Local proposals applied', registers });
    this.proposalsFailed = new Counter({ name: `${prefix}proposals_failed_total`, help: 'Local proposals rejected', registers });
    this.fsyncs = new Counter({ name: `${prefix}persist_syncs_total`, help: 'Ready batches persisted with fsync', registers });
    this.snapshots = new Counter({ name: `${prefix}snapshots_total`, help: 'Snapshots taken', registers });
    this.proposalSeconds = new Histogram({
      name: `${prefix}proposal_duration_seconds`, help: 'From propose to local apply', registers,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
    });
  }
}
