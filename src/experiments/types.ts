// Plain types of the experiment document and its expansion, for services, controllers and the CLI.
import type { AugmentOp, Conv1Spec, RunSpec } from '../contracts/spec.js';

/** What a document (or a variant) may set; omitted fields keep the base/default value. */
export interface RunSpecOverrides {
  model?: Partial<Omit<RunSpec['model'], 'conv1'>> & { conv1?: Partial<Conv1Spec> | null };
  data?: Partial<Omit<RunSpec['data'], 'normalize' | 'synthetic' | 'augment'>> & {
    normalize?: { mean?: number[]; std?: number[] } | null;
    augment?: AugmentOp[];
    synthetic?: Partial<NonNullable<RunSpec['data']['synthetic']>>;
  };
  optim?: Partial<Omit<RunSpec['optim'], 'schedule'>> & { schedule?: Partial<RunSpec['optim']['schedule']> };
  train?: Partial<RunSpec['train']>;
  resources?: Partial<RunSpec['resources']>;
  priority?: number;
  max_restarts?: number;
}

export interface VariantDef {
  name: string;
  overrides?: RunSpecOverrides;
}

export type RandomParam =
  | { dist: 'uniform' | 'log-uniform'; low: number; high: number }
  | { dist: 'choice'; values: unknown[] };

export interface RandomSweep {
  n: number;
  seed?: number;
  params: Record<string, RandomParam>;
}

export interface ExperimentDocument extends RunSpecOverrides {
  name: string;
  description?: string;
  tags?: string[];
  variants?: VariantDef[];
  /** Dotted RunSpec path -> values; the runs are the cartesian product, last key varying fastest. */
  grid?: Record<string, unknown[]>;
  random?: RandomSweep;
  /** Most runs the document may expand to (default 500, at most 5000). */
  limit?: number;
}

export interface FieldError {
  /** Dotted path into the document, with [i] for array elements; '' = the document itself. */
  path: string;
  message: string;
}

export interface ExpandedRun {
  /** 0-based position in the expansion order. */
  index: number;
  name: string;
  /** The variant's name, or null for the unnamed base. */
  variant: string | null;
  /** Grid and random values applied to this run, by dotted path, in document order. */
  params: Record<string, unknown>;
  spec: RunSpec;
  /** sha256 hex of the canonical JSON (sorted keys, no spaces) of `spec`. */
  spec_hash: string;
}

export type ParseResult =
  | { ok: true; document: ExperimentDocument; runs: ExpandedRun[] }
  | { ok: false; errors: FieldError[] };
