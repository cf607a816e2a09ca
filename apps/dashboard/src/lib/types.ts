// Response shapes the dashboard reads that src/contracts/api.ts does not define (yet). Kept here, and
// deliberately loose where the brief says the server's shape may still change (compare).

import type { ExperimentView, RunView } from '@contracts/api';

export type { LayerRowView as LayerRow, LayerTableView as LayersView } from '@contracts/api';

export interface LogEntry {
  seq: number;
  level: string;
  message: string;
  created_at: string | null;
}

export interface PresetProfile {
  name: string;
  description: string | null;
}

/** GET /api/presets answers profiles as names or as { name, description, ... }; normalized to the latter. */
export interface PresetView {
  name: string;
  description: string;
  profiles: PresetProfile[];
  runs: number;
  default_profile: string | null;
  run_names: string[];
}

export interface LaunchResult {
  experiment: ExperimentView;
  runs: RunView[];
}

export interface FieldError {
  path: string;
  message: string;
}

/** POST /api/compare: rows of whatever values come back; the dashboard shows the numeric ones. */
export interface CompareResult {
  runs: Record<string, unknown>[];
  curves?: unknown;
  [extra: string]: unknown;
}

export interface RunsPage {
  items: RunView[];
  total: number;
}
