// Turns POST /api/compare rows (whose shape may still change) into a table: every column that holds a
// number in at least one row, nested objects flattened to dotted names.

export type Flat = Record<string, unknown>;

const IDENTITY_KEYS = new Set(['id', 'run_id', 'name', 'run_name', 'status', 'experiment_id', 'experiment_name', 'host_id']);

export function flatten(row: unknown, prefix = '', depth = 0, out: Flat = {}): Flat {
  if (!row || typeof row !== 'object' || Array.isArray(row)) return out;
  for (const [k, v] of Object.entries(row as Record<string, unknown>)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v) && depth < 2) flatten(v, key, depth + 1, out);
    else out[key] = v;
  }
  return out;
}

/** Columns in the server's key order (a null in the first row keeps its place), numeric ones only. */
export function numericColumns(rows: readonly Flat[]): string[] {
  const order: string[] = [];
  const known = new Set<string>();
  const numeric = new Set<string>();
  for (const r of rows) {
    for (const [k, v] of Object.entries(r)) {
      if (IDENTITY_KEYS.has(k)) continue;
      if (!known.has(k)) {
        known.add(k);
        order.push(k);
      }
      if (typeof v === 'number' && Number.isFinite(v)) numeric.add(k);
    }
  }
  return order.filter((k) => numeric.has(k));
}

export function rowId(row: Flat): string | null {
  for (const k of ['id', 'run_id']) if (typeof row[k] === 'string') return row[k] as string;
  return null;
}

export function rowLabel(row: Flat): string {
  for (const k of ['name', 'run_name', 'id', 'run_id']) if (typeof row[k] === 'string' && row[k]) return row[k] as string;
  return '?';
}

/** Loss, time and cost columns are better when lower; accuracy, F1 and throughput when higher. */
export function lowerIsBetter(column: string): boolean {
  const c = column.toLowerCase();
  if (/(^|\.)rank(\.|$)/.test(c)) return true;
  if (/per_s|images|throughput|acc|f1|precision|recall/.test(c)) return false;
  return /loss|second|_s$|hours|cost|time|duration|epochs_to/.test(c);
}

/** Index of the best row per column (ties: the first), or -1 when fewer than two rows have a value. */
/** Columns that describe rather than score (the epoch a value came from, how many epochs ran). */
export function isNeutral(column: string): boolean {
  return /(^|\.)epoch$|epochs_/.test(column.toLowerCase());
}

export function bestRow(rows: readonly Flat[], column: string): number {
  if (isNeutral(column)) return -1;
  let best = -1;
  let count = 0;
  const lower = lowerIsBetter(column);
  rows.forEach((r, i) => {
    const v = r[column];
    if (typeof v !== 'number' || !Number.isFinite(v)) return;
    count++;
    const b = best >= 0 ? (rows[best]![column] as number) : undefined;
    if (b === undefined || (lower ? v < b : v > b)) best = i;
  });
  if (count < 2) return -1;
  // All equal: nothing stands out.
  const values = rows.map((r) => r[column]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return Math.min(...values) === Math.max(...values) ? -1 : best;
}

/** Fractions look like accuracies; other numbers keep their magnitude. */
export function looksLikeFraction(column: string): boolean {
  return /acc|f1|precision|recall/.test(column.toLowerCase());
}

/** 'best.test_acc.value' -> 'best test acc'; 'best.test_acc.epoch' -> 'best test acc @epoch'. */
export function columnLabel(column: string): string {
  const parts = column.split('.');
  let suffix = '';
  if (parts.length > 2 && parts[parts.length - 1] === 'value') parts.pop();
  else if (parts.length > 2 && parts[parts.length - 1] === 'epoch') {
    parts.pop();
    suffix = ' @epoch';
  }
  return parts.join(' ').replace(/_/g, ' ') + suffix;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const pair = (v: unknown): [number, number] | null =>
  Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number' ? [v[0], v[1]] : null;

/**
 * Sentences for the comparison's findings: where accuracy and macro F1 rank two runs differently
 * (`rank_disagreements`) and where one run is both faster and more accurate (`dominates`).
 * Malformed entries are skipped.
 */
export function compareNotes(result: Record<string, unknown>, nameOf: (id: string) => string): { kind: 'disagree' | 'dominates'; text: string }[] {
  const out: { kind: 'disagree' | 'dominates'; text: string }[] = [];
  const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
  const f = (v: number) => v.toFixed(4);
  for (const d of Array.isArray(result.rank_disagreements) ? result.rank_disagreements : []) {
    const r = (d ?? {}) as Record<string, unknown>;
    const a = str(r.higher_accuracy);
    const b = str(r.higher_macro_f1);
    const acc = pair(r.test_acc);
    const f1 = pair(r.macro_f1);
    if (!a || !b || !acc || !f1) continue;
    out.push({
      kind: 'disagree',
      text: `${nameOf(a)} has the higher test accuracy (${pct(acc[0])} vs ${pct(acc[1])}) but ${nameOf(b)} the higher macro F1 (${f(f1[1])} vs ${f(f1[0])}).`,
    });
  }
  for (const d of Array.isArray(result.dominates) ? result.dominates : []) {
    const r = (d ?? {}) as Record<string, unknown>;
    const w = str(r.winner);
    const l = str(r.loser);
    const s = pair(r.seconds_per_epoch);
    const acc = pair(r.test_acc);
    if (!w || !l || !s || !acc) continue;
    out.push({
      kind: 'dominates',
      text: `${nameOf(w)} is both cheaper and better than ${nameOf(l)}: ${s[0].toFixed(1)} vs ${s[1].toFixed(1)} s/epoch, ${pct(acc[0])} vs ${pct(acc[1])} test accuracy.`,
    });
  }
  return out;
}
