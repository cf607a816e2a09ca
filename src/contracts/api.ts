// Shapes returned by the REST API and carried by socket.io events; the dashboard and the CLI import
// these same types, so a change here is a compile error on every side that reads them.

import type { DeviceInfo, DeviceStats, MetricPoint } from './wire.js';
import type { RunSpec } from './spec.js';

export type RunStatus =
  | 'queued'
  | 'assigned'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'lost'
  | 'skipped';

export const TERMINAL_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled', 'skipped'];

export interface HostDeviceView extends DeviceInfo {
  stats: DeviceStats | null;
  run_ids: string[];
}

export interface HostView {
  id: string;
  name: string;
  status: 'online' | 'offline';
  labels: string[];
  cpu_slots: number;
  devices: HostDeviceView[];
  versions: Record<string, string | null>;
  last_seen: string | null;
  connected_at: string | null;
  cpu_pct: number | null;
  mem_used_mb: number | null;
}

/** GET /api/hosts/:id/history: sampled device stats per device index (-1 = the CPU). */
export interface HostHistoryView {
  host_id: string;
  sample_every_ms: number;
  devices: Record<string, { at: number[]; utilization_pct: (number | null)[]; memory_used_mb: (number | null)[]; temperature_c: (number | null)[] }>;
}

export interface RunSummaryValues {
  train_loss: number | null;
  train_acc: number | null;
  test_acc: number | null;
  macro_f1: number | null;
  epoch_seconds: number | null;
  images_per_s: number | null;
}

export interface RunView {
  id: string;
  experiment_id: string;
  experiment_name: string;
  name: string;
  status: RunStatus;
  /** Why the run is in its status (error, skip reason, what it waits for). */
  reason: string | null;
  attempt: number;
  host_id: string | null;
  devices: number[];
  spec: RunSpec;
  spec_hash: string;
  epochs_completed: number;
  progress: { epoch: number; step: number; steps_per_epoch: number } | null;
  last: RunSummaryValues;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
}

export interface SeriesView {
  step: number[];
  epoch: number[];
  value: number[];
  wall_time: number[];
}

export interface RunMetricsView {
  run_id: string;
  /** Highest message seq included; live deltas continue after it. */
  last_seq: number;
  series: Record<string, SeriesView>;
}

export interface ClassMeasuresView {
  class_index: number;
  class_name: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface MeasuresView {
  accuracy: number;
  balanced_accuracy: number;
  micro: { precision: number; recall: number; f1: number };
  macro: { precision: number; recall: number; f1: number };
  weighted: { precision: number; recall: number; f1: number };
  per_class: ClassMeasuresView[];
}

export interface EvaluationView {
  run_id: string;
  epoch: number;
  seq: number;
  class_names: string[];
  matrix: number[][];
  samples: number;
  loss: number;
  measures: MeasuresView;
  created_at: string;
}

/** GET /api/runs/:id/layers: the model layer by layer (the notebook's torchinfo table), from Python. */
export interface LayerRowView {
  depth: number;
  /** torchinfo's depth-index, e.g. "1-8". */
  index: string;
  name: string;
  type: string;
  input_shape: number[] | null;
  output_shape: number[] | null;
  params: number;
  mult_adds: number;
  leaf: boolean;
}

export interface LayerTableView {
  input_shape: number[];
  output_shape: number[];
  rows: LayerRowView[];
  totals: {
    params: number;
    trainable_params: number;
    mult_adds: number;
    input_size_mb: number;
    forward_backward_size_mb: number;
    params_size_mb: number;
    estimated_total_size_mb: number;
  };
}

export interface ExperimentView {
  id: string;
  name: string;
  created_at: string;
  archived: boolean;
  run_ids: string[];
}

export interface EnvView {
  python: string;
  torch: string;
  torchvision: string;
  cuda_available: boolean;
  cuda_version: string | null;
  devices: { index: number; name: string; memory_total_mb: number }[];
  executable: string;
}

// ---- socket.io ---------------------------------------------------------------------------------

export interface ServerToClientEvents {
  hosts: (hosts: HostView[]) => void;
  'run.update': (run: RunView) => void;
  'run.metrics': (e: { run_id: string; seq: number; points: MetricPoint[] }) => void;
  'run.evaluation': (e: EvaluationView) => void;
  'run.log': (e: { run_id: string; seq: number; level: string; message: string }) => void;
  error: (e: { message: string }) => void;
}

export interface ClientToServerEvents {
  /** Join a run's room; `after_seq` replays what was stored after it (catch-up after a reconnect). */
  subscribe: (req: { run_id: string; after_seq?: number }, ack?: (r: { ok: boolean; error?: string }) => void) => void;
  unsubscribe: (req: { run_id: string }) => void;
}
