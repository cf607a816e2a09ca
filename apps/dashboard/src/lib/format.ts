// Number and time formatting for dense tables: fixed widths, a dash for missing values.

export const DASH = '—';

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function fmtNum(v: number | null | undefined, digits = 3): string {
  if (!finite(v)) return DASH;
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  return v.toFixed(digits);
}

/** 0.9123 -> "91.23%"; values are fractions in [0, 1]. */
export function fmtPct(v: number | null | undefined, digits = 2): string {
  if (!finite(v)) return DASH;
  return `${(v * 100).toFixed(digits)}%`;
}

export function fmtInt(v: number | null | undefined): string {
  if (!finite(v)) return DASH;
  return Math.round(v).toLocaleString('en-US');
}

/** 11689512 -> "11.69M". */
export function fmtCompact(v: number | null | undefined): string {
  if (!finite(v)) return DASH;
  const a = Math.abs(v);
  if (a >= 1e12) return `${(v / 1e12).toFixed(2)}T`;
  if (a >= 1e9) return `${(v / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return String(Math.round(v));
}

export function fmtDuration(seconds: number | null | undefined): string {
  if (!finite(seconds) || seconds < 0) return DASH;
  if (seconds < 10) return `${seconds.toFixed(2)}s`;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  return `${m}m ${String(r).padStart(2, '0')}s`;
}

export function parseTime(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

/** "3s ago", "5m ago", "2h ago", else the date. */
export function fmtAgo(iso: string | null | undefined, now: number): string {
  const t = parseTime(iso);
  if (t === null) return DASH;
  const d = Math.max(0, (now - t) / 1000);
  if (d < 60) return `${Math.floor(d)}s ago`;
  if (d < 3600) return `${Math.floor(d / 60)}m ago`;
  if (d < 86400) return `${Math.floor(d / 3600)}h ago`;
  return new Date(t).toISOString().slice(0, 10);
}

export function fmtDateTime(iso: string | null | undefined): string {
  const t = parseTime(iso);
  if (t === null) return DASH;
  const d = new Date(t);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Wall time between two instants (end defaults to now for a run still going). */
export function elapsedSeconds(start: string | null | undefined, end: string | null | undefined, now: number): number | null {
  const a = parseTime(start);
  if (a === null) return null;
  const b = parseTime(end) ?? now;
  return Math.max(0, (b - a) / 1000);
}

export function fmtMb(mb: number | null | undefined): string {
  if (!finite(mb)) return DASH;
  return mb >= 1024 ? `${(mb / 1024).toFixed(1)} GiB` : `${Math.round(mb)} MiB`;
}

export function fmtShape(shape: readonly number[] | string | null | undefined): string {
  if (typeof shape === 'string') return shape || DASH;
  if (!shape || !Array.isArray(shape) || shape.length === 0) return DASH;
  return `[${shape.join(', ')}]`;
}

/** A run id is a uuid: its first block is enough to tell runs apart on screen. */
export const shortId = (id: string): string => (id.length > 12 ? id.slice(0, 8) : id);
