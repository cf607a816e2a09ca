// CSV and JSON export of a runs table (one row per run, spec flattened into columns like a tracker's
// run export) and of run histories (every metric point), plus Content-Disposition headers.
//
// Everything is a generator of text pieces so a controller can stream a history of millions of points
// (pipe through `chunkText` to cut the number of writes) without building it in memory.
//
// CSV follows RFC 4180: CRLF line ends, a header line, fields containing a comma, a double quote, CR or
// LF are enclosed in double quotes with inner quotes doubled. Numbers are written with JavaScript's
// shortest round-trip form; NaN and +-Infinity as NaN, Infinity, -Infinity (which Python's float()
// and JavaScript's Number() both read back). JSON cannot hold those: they become null there.

import type { RunStatus, RunSummaryValues, SeriesView } from '../contracts/api.js';
import type { RunSpec } from '../contracts/spec.js';

export const CSV_EOL = '\r\n';

export interface CsvOptions {
  /**
   * Prefix text cells that start with = + - @ TAB or CR with a single quote, so spreadsheet programs do
   * not run them as formulas (run names are user input). Off by default because it changes the data
   * for every other reader (pandas, csv modules); numbers are never touched.
   */
  formula_guard?: boolean;
}

type Cell = string | number | boolean | null | undefined;

/** One CSV field, quoted when RFC 4180 requires it. Objects and arrays are written as JSON. */
export function csvField(v: unknown, options: CsvOptions = {}): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  let s = typeof v === 'string' ? v : JSON.stringify(v);
  if (options.formula_guard && typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A CSV record with its CRLF terminator. */
export function csvLine(fields: readonly unknown[], options: CsvOptions = {}): string {
  return fields.map((f) => csvField(f, options)).join(',') + CSV_EOL;
}

// ---- runs table --------------------------------------------------------------------------------

/** What the runs export needs of a run; a RunView (src/contracts/api.ts) satisfies it. */
export interface RunExportInput {
  id: string;
  name: string;
  status: RunStatus;
  spec: RunSpec;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  experiment_id?: string;
  experiment_name?: string;
  reason?: string | null;
  attempt?: number;
  host_id?: string | null;
  devices?: number[];
  spec_hash?: string;
  epochs_completed?: number;
  /** RunView's latest values; exported as summary.* columns. */
  last?: RunSummaryValues;
  /** Further summary values (e.g. compare's final/best figures); override `last` on equal keys. */
  summary?: Record<string, Cell>;
}

/** Run columns, in this order, before the spec.* and summary.* columns. */
export const RUN_COLUMNS = [
  'id',
  'name',
  'experiment_id',
  'experiment_name',
  'status',
  'reason',
  'attempt',
  'host_id',
  'devices',
  'epochs_completed',
  'created_at',
  'started_at',
  'ended_at',
  'spec_hash',
] as const;

type FlatRecord = Record<string, Cell>;

/**
 * The spec as dotted keys ('model.conv1.kernel'). Arrays (normalize.mean, augment, labels) stay one
 * cell, as JSON, because their length varies between runs; null objects (conv1: null) are a null cell.
 */
export function flattenSpec(spec: RunSpec): FlatRecord {
  const out: FlatRecord = {};
  const walk = (v: unknown, prefix: string): void => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, child] of Object.entries(v as Record<string, unknown>)) walk(child, prefix ? `${prefix}.${k}` : k);
      return;
    }
    if (Array.isArray(v)) out[prefix] = JSON.stringify(v);
    else if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[prefix] = v;
    else if (v !== undefined) out[prefix] = String(v);
  };
  walk(spec ?? {}, '');
  return out;
}

/** One run as a flat record: run columns, spec.* and summary.* keys. */
export function runExportRecord(run: RunExportInput): FlatRecord {
  const rec: FlatRecord = {};
  for (const c of RUN_COLUMNS) {
    const v = (run as unknown as Record<string, unknown>)[c];
    rec[c] = Array.isArray(v) ? JSON.stringify(v) : (v as Cell);
  }
  for (const [k, v] of Object.entries(flattenSpec(run.spec))) rec[`spec.${k}`] = v;
  const summary: Record<string, Cell> = { ...(run.last ?? {}), ...(run.summary ?? {}) };
  for (const [k, v] of Object.entries(summary)) rec[`summary.${k}`] = v;
  return rec;
}

/**
 * Header of the runs table: RUN_COLUMNS, then every spec.* and summary.* key in order of first
 * appearance. A null leaf (spec.model.conv1 = null) is dropped when other runs have its sub-columns.
 */
export function runsTableColumns(records: readonly FlatRecord[]): string[] {
  const seen = new Set<string>(RUN_COLUMNS);
  const spec: string[] = [];
  const summary: string[] = [];
  for (const r of records) {
    for (const k of Object.keys(r)) {
      if (seen.has(k)) continue;
      seen.add(k);
      if (k.startsWith('spec.')) spec.push(k);
      else if (k.startsWith('summary.')) summary.push(k);
    }
  }
  const keep = (k: string, all: string[]): boolean => !all.some((o) => o.startsWith(k + '.'));
  return [...RUN_COLUMNS, ...spec.filter((k) => keep(k, spec)), ...summary];
}

/** The runs table as CSV lines (header first), each ending in CRLF. */
export function* runsCsvLines(runs: readonly RunExportInput[], options: CsvOptions = {}): Generator<string> {
  const records = runs.map(runExportRecord);
  const columns = runsTableColumns(records);
  yield csvLine(columns, options);
  for (const r of records) yield csvLine(columns.map((c) => r[c]), options);
}

export interface RunExportJson {
  id: string;
  name: string;
  experiment_id: string | null;
  experiment_name: string | null;
  status: RunStatus;
  reason: string | null;
  attempt: number | null;
  host_id: string | null;
  devices: number[];
  epochs_completed: number | null;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  spec_hash: string | null;
  /** Nested, as stored. */
  spec: RunSpec;
  summary: Record<string, Cell>;
}

/** The runs table as JSON records: the spec stays nested (JSON readers need no flattening). */
export function runsJson(runs: readonly RunExportInput[]): RunExportJson[] {
  return runs.map((r) => ({
    id: r.id,
    name: r.name,
    experiment_id: r.experiment_id ?? null,
    experiment_name: r.experiment_name ?? null,
    status: r.status,
    reason: r.reason ?? null,
    attempt: r.attempt ?? null,
    host_id: r.host_id ?? null,
    devices: r.devices ?? [],
    epochs_completed: r.epochs_completed ?? null,
    created_at: r.created_at,
    started_at: r.started_at,
    ended_at: r.ended_at,
    spec_hash: r.spec_hash ?? null,
    spec: r.spec,
    summary: { ...(r.last ?? {}), ...(r.summary ?? {}) },
  }));
}

/** runsJson as text pieces: a JSON array, one record per line. */
export function* runsJsonChunks(runs: readonly RunExportInput[]): Generator<string> {
  yield* jsonArrayChunks(runsJson(runs));
}

// ---- history -----------------------------------------------------------------------------------

export interface HistoryRow {
  run_id: string;
  key: string;
  step: number;
  epoch: number;
  value: number;
  wall_time: number;
}

export const HISTORY_COLUMNS = ['run_id', 'key', 'step', 'epoch', 'value', 'wall_time'] as const;

export function historyCsvRow(r: HistoryRow): string {
  return csvLine([r.run_id, r.key, r.step, r.epoch, r.value, r.wall_time]);
}

/** A history as CSV lines (header first), from any iterable of points (e.g. a paged DB read). */
export function* historyCsvLines(rows: Iterable<HistoryRow>): Generator<string> {
  yield csvLine(HISTORY_COLUMNS);
  for (const r of rows) yield historyCsvRow(r);
}

/** Same as historyCsvLines for an async source (a database cursor). */
export async function* historyCsvLinesAsync(rows: AsyncIterable<HistoryRow> | Iterable<HistoryRow>): AsyncGenerator<string> {
  yield csvLine(HISTORY_COLUMNS);
  for await (const r of rows) yield historyCsvRow(r);
}

/** A history as a JSON array of {run_id, key, step, epoch, value, wall_time}; non-finite values -> null. */
export function* historyJsonChunks(rows: Iterable<HistoryRow>): Generator<string> {
  yield* jsonArrayChunks(mapIterable(rows, historyJsonRecord));
}

export async function* historyJsonChunksAsync(rows: AsyncIterable<HistoryRow> | Iterable<HistoryRow>): AsyncGenerator<string> {
  let first = true;
  yield '[';
  for await (const r of rows) {
    yield (first ? '\n' : ',\n') + JSON.stringify(historyJsonRecord(r));
    first = false;
  }
  yield first ? ']\n' : '\n]\n';
}

/** A run's series (RunMetricsView.series) as history rows, key by key in step order as stored. */
export function* seriesToHistoryRows(runId: string, series: Record<string, SeriesView>): Generator<HistoryRow> {
  for (const [key, s] of Object.entries(series)) {
    for (let i = 0; i < s.step.length; i++) {
      yield { run_id: runId, key, step: s.step[i], epoch: s.epoch[i], value: s.value[i], wall_time: s.wall_time[i] };
    }
  }
}

/** Joins small text pieces into chunks of about `size` characters, so a stream gets fewer writes. */
export function* chunkText(pieces: Iterable<string>, size = 64 * 1024): Generator<string> {
  let buf: string[] = [];
  let len = 0;
  for (const p of pieces) {
    buf.push(p);
    len += p.length;
    if (len >= size) {
      yield buf.join('');
      buf = [];
      len = 0;
    }
  }
  if (len > 0) yield buf.join('');
}

export async function* chunkTextAsync(pieces: AsyncIterable<string> | Iterable<string>, size = 64 * 1024): AsyncGenerator<string> {
  let buf: string[] = [];
  let len = 0;
  for await (const p of pieces) {
    buf.push(p);
    len += p.length;
    if (len >= size) {
      yield buf.join('');
      buf = [];
      len = 0;
    }
  }
  if (len > 0) yield buf.join('');
}

function historyJsonRecord(r: HistoryRow): Record<string, string | number | null> {
  // JSON.stringify writes NaN/Infinity as null itself; explicit here so the policy is visible.
  const num = (v: number): number | null => (Number.isFinite(v) ? v : null);
  return { run_id: r.run_id, key: r.key, step: num(r.step), epoch: num(r.epoch), value: num(r.value), wall_time: num(r.wall_time) };
}

function* jsonArrayChunks(items: Iterable<unknown>): Generator<string> {
  let first = true;
  yield '[';
  for (const item of items) {
    yield (first ? '\n' : ',\n') + JSON.stringify(item);
    first = false;
  }
  yield first ? ']\n' : '\n]\n';
}

function* mapIterable<T, U>(xs: Iterable<T>, f: (x: T) => U): Generator<U> {
  for (const x of xs) yield f(x);
}

// ---- file names ----------------------------------------------------------------------------------

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
const MAX_FILENAME_CHARS = 150;

/**
 * A file name safe to offer for download: no path separators, control characters or characters that
 * Windows forbids, no leading dots (hidden files, '..'), no trailing dots or spaces, not a reserved
 * device name, at most 150 characters with the extension kept; `fallback` when nothing is left.
 */
export function sanitizeFilename(name: string, fallback = 'export'): string {
  let s = String(name ?? '').normalize('NFC');
  s = s.replace(/[\u0000-\u001f\u007f-\u009f/\\:*?"<>|]/g, '_');
  s = s.replace(/\s+/g, ' ').trim();
  s = s.replace(/^[.\s]+/, '').replace(/[.\s]+$/, '');
  if (WINDOWS_RESERVED.test(s)) s = `_${s}`;
  const chars = [...s]; // code points, so a cut never splits a surrogate pair
  if (chars.length > MAX_FILENAME_CHARS) {
    const dot = s.lastIndexOf('.');
    const ext = dot > 0 && s.length - dot <= 10 ? s.slice(dot) : '';
    const stem = [...s.slice(0, s.length - ext.length)].slice(0, MAX_FILENAME_CHARS - [...ext].length).join('');
    s = stem.replace(/[.\s]+$/, '') + ext;
  }
  return s.length > 0 ? s : fallback;
}

/**
 * Content-Disposition value (RFC 6266): an ASCII `filename` every client understands, plus
 * `filename*` (RFC 8187, UTF-8) when the real name has characters the ASCII form had to replace.
 */
export function contentDisposition(filename: string, disposition: 'attachment' | 'inline' = 'attachment'): string {
  const safe = sanitizeFilename(filename);
  // '%' too: some browsers percent-decode the plain filename parameter.
  const ascii = safe.replace(/[^\x20-\x7e]|%/g, '_');
  let header = `${disposition}; filename="${ascii}"`;
  if (ascii !== safe) header += `; filename*=UTF-8''${encodeRfc8187(safe)}`;
  return header;
}

export interface ExportNameParts {
  kind: 'runs' | 'history' | 'compare';
  /** E.g. an experiment or run name; spaces become '_'. */
  label?: string;
  format: 'csv' | 'json';
  /** Stamped as YYYYMMDD-HHMMSS (UTC) when given. */
  date?: Date;
}

/** e.g. trainyard-history-scratch_224-20250101-120000.csv, already sanitised. */
export function exportFilename(parts: ExportNameParts): string {
  const pieces = ['trainyard', parts.kind];
  if (parts.label) pieces.push(parts.label.trim().replace(/\s+/g, '_'));
  if (parts.date && Number.isFinite(parts.date.getTime())) {
    const iso = parts.date.toISOString(); // 2025-01-01T12:00:00.000Z
    pieces.push(`${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}`);
  }
  return sanitizeFilename(`${pieces.join('-')}.${parts.format}`, `trainyard-${parts.kind}.${parts.format}`);
}

function encodeRfc8187(s: string): string {
  // encodeURIComponent leaves ' ( ) * unescaped, which RFC 8187's attr-char does not allow.
  return encodeURIComponent(s).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
