import type { RunView } from '../contracts/api.js';

const fmt = (v: number | null, digits: number, scale = 1) => (v == null || !Number.isFinite(v) ? '-' : (v * scale).toFixed(digits));

/** The study's results as a plain-text table (one row per run). */
export function formatResultsTable(views: RunView[]): string {
  const header = ['run', 'status', 'epochs', 'train loss', 'train acc', 'test acc', 'macro F1', 's/epoch', 'images/s'];
  const rows = views.map((v) => [
    v.name,
    v.status,
    String(v.epochs_completed),
    fmt(v.last.train_loss, 4),
    fmt(v.last.train_acc, 2, 100),
    fmt(v.last.test_acc, 2, 100),
    fmt(v.last.macro_f1, 4),
    fmt(v.last.epoch_seconds, 1),
    fmt(v.last.images_per_s, 0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
