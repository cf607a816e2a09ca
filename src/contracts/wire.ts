// The ZeroMQ wire protocol between worker agents (python-bridge) and the orchestrator.
// Python mirrors this file in python-bridge/trainyard_worker/protocol.py; the shared test vectors in
// test/vectors/wire keep the two codecs byte-compatible.
//
// Frames after the ROUTER identity: ["TY1", signature, header, content, ...buffers]
// signature = hex(HMAC-SHA256(key, header_bytes || content_bytes))

import type { RunSpec } from './spec.js';

export const PROTOCOL_MAGIC = 'TY1';
export const PROTOCOL_VERSION = 1;
/** Largest header+content accepted, in bytes; larger messages are dropped and counted. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export interface Header {
  msg_id: string;
  /** uuid of the sending process; a new one means the peer restarted. */
  session: string;
  type: MessageType;
  version: number;
  date: string;
  /** Run-scoped messages only. */
  run_id?: string;
  /** Run-scoped messages only: per-run sequence number starting at 1. */
  seq?: number;
}

// ---- worker -> orchestrator ------------------------------------------------------------------

export interface DeviceInfo {
  /** 'cuda' GPU index, or -1 for the CPU device. */
  index: number;
  kind: 'cuda' | 'cpu';
  name: string;
  memory_total_mb: number;
}

export interface HelloContent {
  host: string;
  /** Stable id of the worker install (survives restarts); session in the header changes per process. */
  worker_id: string;
  labels: string[];
  devices: DeviceInfo[];
  /** How many concurrent CPU runs this worker accepts (CPU-only hosts). */
  cpu_slots: number;
  versions: { python: string; torch: string; torchvision: string; cuda: string | null; worker: string };
  /** Runs this worker is still executing or still has unacknowledged messages for. */
  runs: { run_id: string; last_seq: number; state: 'running' | 'finished' }[];
  pid: number;
}

export interface DeviceStats {
  index: number;
  utilization_pct: number | null;
  memory_used_mb: number | null;
  memory_total_mb: number | null;
  temperature_c: number | null;
}

export interface HeartbeatContent {
  devices: DeviceStats[];
  cpu_pct: number | null;
  mem_used_mb: number | null;
  runs: { run_id: string; epoch: number; step: number; steps_per_epoch: number }[];
}

export interface AcceptedContent {
  run_id: string;
}

export interface RejectedContent {
  run_id: string;
  reason: string;
}

/** Run-scoped: the trainer process started and loaded its data. */
export interface StartedContent {
  pid: number;
  device: string;
  attempt: number;
  resumed_from_epoch: number | null;
  dataset: { fingerprint: string; train_size: number; test_size: number; class_names: string[]; input_shape: number[] };
  params: number;
}

export interface MetricPoint {
  key: string;
  step: number;
  epoch: number;
  value: number;
  /** Unix epoch seconds (float) when the value was measured. */
  wall_time: number;
}

/** Run-scoped: metric points (train_loss, train_acc, test_acc, lr, images_per_s, epoch_seconds, ...). */
export interface MetricsContent {
  points: MetricPoint[];
}

export interface LogContent {
  level: 'debug' | 'info' | 'warning' | 'error';
  message: string;
}

/** Run-scoped: one evaluation of the test split. The orchestrator computes every measure from `matrix`. */
export interface EvaluationContent {
  epoch: number;
  split: 'test';
  class_names: string[];
  /** matrix[true][pred] counts. */
  matrix: number[][];
  /** Ids (indexes into the evaluated split) of misclassified samples, capped per cell by the worker. */
  misclassified: { index: number; true: number; pred: number }[];
  loss: number;
  samples: number;
}

export interface CheckpointContent {
  epoch: number;
  path: string;
  bytes: number;
  final: boolean;
}

// 'skipped': the variant cannot run on this host (e.g. pretrained weights not in the local cache).
export type FinishedStatus = 'succeeded' | 'failed' | 'cancelled' | 'skipped';

export interface FinishedContent {
  status: FinishedStatus;
  error: string | null;
  epochs_completed: number;
  /**
   * The trainer did not end by itself: its worker agent died and, restarted, reports the run. The
   * orchestrator treats the run as lost (not failed), so it is requeued and resumes from its checkpoint.
   */
  interrupted?: boolean;
}

// ---- orchestrator -> worker ------------------------------------------------------------------

export interface WelcomeContent {
  heartbeat_interval_ms: number;
  liveness: number;
  /** Highest contiguous seq stored per run the worker mentioned in hello: replay everything above. */
  acks: Record<string, number>;
  /** Runs the worker mentioned that the orchestrator wants stopped (cancelled or reassigned meanwhile). */
  cancel: string[];
}

export type OrchestratorHeartbeatContent = Record<string, never>;

export interface AssignContent {
  run_id: string;
  attempt: number;
  spec: RunSpec;
  /** Device indexes on the worker (-1 = CPU). */
  devices: number[];
  /** Path of the checkpoint to resume from on this worker, if any. */
  resume_from: string | null;
  /**
   * Seq for this attempt's first run-scoped message. Seqs continue across attempts (a resumed run on
   * another host must not reuse seqs the orchestrator already stored), so the orchestrator chooses it.
   */
  first_seq: number;
}

export interface CancelContent {
  run_id: string;
  reason: string;
}

export interface AckContent {
  run_id: string;
  seq: number;
}

export interface DisconnectContent {
  reason: string;
}

export interface ContentByType {
  hello: HelloContent;
  heartbeat: HeartbeatContent | OrchestratorHeartbeatContent;
  accepted: AcceptedContent;
  rejected: RejectedContent;
  started: StartedContent;
  metrics: MetricsContent;
  log: LogContent;
  evaluation: EvaluationContent;
  checkpoint: CheckpointContent;
  finished: FinishedContent;
  welcome: WelcomeContent;
  assign: AssignContent;
  cancel: CancelContent;
  ack: AckContent;
  disconnect: DisconnectContent;
}

export type MessageType = keyof ContentByType;

export const MESSAGE_TYPES: readonly MessageType[] = [
  'hello', 'heartbeat', 'accepted', 'rejected', 'started', 'metrics', 'log', 'evaluation', 'checkpoint',
  'finished', 'welcome', 'assign', 'cancel', 'ack', 'disconnect',
];

/** Messages that carry run_id and seq in the header and go through the spool / ack path. */
export const RUN_SCOPED_TYPES: readonly MessageType[] = ['started', 'metrics', 'log', 'evaluation', 'checkpoint', 'finished'];

export interface Message<T extends MessageType = MessageType> {
  header: Header & { type: T };
  content: ContentByType[T];
  buffers: Buffer[];
}
