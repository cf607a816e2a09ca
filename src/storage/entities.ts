// TypeORM entities. Column types are chosen to mean the same on SQLite and PostgreSQL: times are
// epoch milliseconds in double precision, JSON is text (simple-json), ids are uuid strings.
import { Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import type { RunStatus } from '../contracts/api.js';
import type { DeviceInfo } from '../contracts/wire.js';
import type { RunSpec } from '../contracts/spec.js';

@Entity('experiments')
export class ExperimentEntity {
  @PrimaryColumn('varchar', { length: 36 }) id: string;
  @Column('varchar', { length: 200 }) name: string;
  @Column('text', { nullable: true }) description: string | null;
  @Column('simple-json') tags: string[];
  /** The document as submitted (before expansion), for clone and audit. */
  @Column('simple-json') document: object;
  @Column('boolean', { default: false }) archived: boolean;
  @Column('double precision') created_at: number;
}

@Entity('runs')
@Index('idx_runs_status', ['status'])
@Index('idx_runs_experiment', ['experiment_id'])
export class RunEntity {
  @PrimaryColumn('varchar', { length: 36 }) id: string;
  @Column('varchar', { length: 36 }) experiment_id: string;
  @Column('varchar', { length: 200 }) name: string;
  @Column('varchar', { length: 20 }) status: RunStatus;
  @Column('text', { nullable: true }) reason: string | null;
  @Column('integer', { default: 0 }) attempt: number;
  @Column('integer', { default: 0 }) priority: number;
  @Column('double precision') queued_at: number;
  @Column('varchar', { length: 64, nullable: true }) host_id: string | null;
  @Column('simple-json') devices: number[];
  @Column('simple-json') spec: RunSpec;
  @Column('varchar', { length: 64 }) spec_hash: string;
  @Column('integer', { default: 0 }) epochs_completed: number;
  /** Highest contiguous message seq stored for this run (acked to the worker). */
  @Column('integer', { default: 0 }) last_seq: number;
  @Column('simple-json') last: Record<string, number | null>;
  @Column('text', { nullable: true }) checkpoint_path: string | null;
  @Column('varchar', { length: 64, nullable: true }) checkpoint_host: string | null;
  @Column('double precision') created_at: number;
  @Column('double precision', { nullable: true }) started_at: number | null;
  @Column('double precision', { nullable: true }) ended_at: number | null;
}

@Entity('run_transitions')
@Index('idx_transitions_run', ['run_id'])
export class RunTransitionEntity {
  @PrimaryGeneratedColumn() id: number;
  @Column('varchar', { length: 36 }) run_id: string;
  @Column('varchar', { length: 20, nullable: true }) from_status: RunStatus | null;
  @Column('varchar', { length: 20 }) to_status: RunStatus;
  @Column('text', { nullable: true }) reason: string | null;
  @Column('double precision') at: number;
}

/** One row per stored run-scoped message: the (run_id, seq) key is what makes delivery exactly-once. */
@Entity('run_messages')
export class RunMessageEntity {
  @PrimaryColumn('varchar', { length: 36 }) run_id: string;
  @PrimaryColumn('integer') seq: number;
  @Column('varchar', { length: 20 }) type: string;
  @Column('double precision') received_at: number;
}

// One index only: reads are per run in seq order (series, catch-up, export); a second index on
// (run_id, key, step) cost a third of the ingest throughput for no query that needs it.
@Entity('metric_points')
@Index('idx_points_run_seq', ['run_id', 'seq'])
export class MetricPointEntity {
  @PrimaryGeneratedColumn() id: number;
  @Column('varchar', { length: 36 }) run_id: string;
  @Column('integer') seq: number;
  @Column('varchar', { length: 64 }) key: string;
  @Column('integer') step: number;
  @Column('integer') epoch: number;
  @Column('double precision') value: number;
  @Column('double precision') wall_time: number;
}

@Entity('evaluations')
@Index('idx_evaluations_run', ['run_id', 'epoch'])
export class EvaluationEntity {
  @PrimaryGeneratedColumn() id: number;
  @Column('varchar', { length: 36 }) run_id: string;
  @Column('integer') seq: number;
  @Column('integer') epoch: number;
  @Column('simple-json') class_names: string[];
  @Column('simple-json') matrix: number[][];
  @Column('simple-json') misclassified: { index: number; true: number; pred: number }[];
  @Column('double precision') loss: number;
  @Column('integer') samples: number;
  @Column('simple-json') measures: object;
  @Column('double precision') created_at: number;
}

@Entity('run_logs')
@Index('idx_logs_run', ['run_id', 'seq'])
export class RunLogEntity {
  @PrimaryGeneratedColumn() id: number;
  @Column('varchar', { length: 36 }) run_id: string;
  @Column('integer') seq: number;
  @Column('varchar', { length: 10 }) level: string;
  @Column('text') message: string;
  @Column('double precision') created_at: number;
}

@Entity('checkpoints')
@Index('idx_checkpoints_run', ['run_id'])
export class CheckpointEntity {
  @PrimaryGeneratedColumn() id: number;
  @Column('varchar', { length: 36 }) run_id: string;
  @Column('integer') seq: number;
  @Column('integer') epoch: number;
  @Column('text') path: string;
  @Column('double precision') bytes: number;
  @Column('boolean') final: boolean;
  @Column('varchar', { length: 64, nullable: true }) host_id: string | null;
  @Column('double precision') created_at: number;
}

@Entity('hosts')
export class HostEntity {
  /** The worker's persistent id. */
  @PrimaryColumn('varchar', { length: 64 }) id: string;
  @Column('varchar', { length: 200 }) name: string;
  @Column('simple-json') labels: string[];
  @Column('simple-json') devices: DeviceInfo[];
  @Column('integer') cpu_slots: number;
  @Column('simple-json') versions: Record<string, string | null>;
  @Column('varchar', { length: 10 }) status: 'online' | 'offline';
  @Column('double precision', { nullable: true }) last_seen: number | null;
  @Column('double precision', { nullable: true }) connected_at: number | null;
}

/** Device stats over time (sampled from heartbeats; CPU is index -1). */
@Entity('device_samples')
@Index('idx_device_samples_host_at', ['host_id', 'at'])
export class DeviceSampleEntity {
  @PrimaryGeneratedColumn() id: number;
  @Column('varchar', { length: 64 }) host_id: string;
  @Column('integer') device_index: number;
  @Column('double precision') at: number;
  @Column('double precision', { nullable: true }) utilization_pct: number | null;
  @Column('double precision', { nullable: true }) memory_used_mb: number | null;
  @Column('double precision', { nullable: true }) temperature_c: number | null;
}

export const ENTITIES = [
  ExperimentEntity,
  RunEntity,
  RunTransitionEntity,
  RunMessageEntity,
  MetricPointEntity,
  EvaluationEntity,
  RunLogEntity,
  CheckpointEntity,
  HostEntity,
  DeviceSampleEntity,
];
