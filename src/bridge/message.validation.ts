// Per-type content checks for messages the orchestrator receives. Hand-written rather than
// class-validator because this sits on the ingest hot path (hundreds of thousands of points/s).
// Extra fields are allowed (forward compatible); missing or mistyped ones are not.
import type { MessageType } from '../contracts/wire.js';

type Check = (v: unknown) => string | null;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const num: Check = (v) => (typeof v === 'number' && Number.isFinite(v) ? null : 'must be a finite number');
const numOrNull: Check = (v) => (v === null || (typeof v === 'number' && Number.isFinite(v)) ? null : 'must be a number or null');
const int: Check = (v) => (Number.isSafeInteger(v) ? null : 'must be an integer');
const str: Check = (v) => (typeof v === 'string' ? null : 'must be a string');
const strMax = (n: number): Check => (v) => (typeof v === 'string' && v.length <= n ? null : `must be a string of at most ${n} chars`);
const strOrNull: Check = (v) => (v === null || typeof v === 'string' ? null : 'must be a string or null');
const oneOf = (...vals: string[]): Check => (v) => (vals.includes(v as string) ? null : `must be one of ${vals.join(', ')}`);
const arr = (item: Check, max = 1_000_000): Check => (v) => {
  if (!Array.isArray(v)) return 'must be an array';
  if (v.length > max) return `must have at most ${max} items`;
  for (let i = 0; i < v.length; i++) {
    const e = item(v[i]);
    if (e) return `[${i}] ${e}`;
  }
  return null;
};
const obj = (shape: Record<string, Check>): Check => (v) => {
  if (!isObj(v)) return 'must be an object';
  for (const k in shape) {
    const e = shape[k](v[k]);
    if (e) return `${k} ${e}`;
  }
  return null;
};
const any: Check = () => null;
const optional = (c: Check): Check => (v) => (v === undefined ? null : c(v));

const device = obj({ index: int, kind: oneOf('cuda', 'cpu'), name: str, memory_total_mb: num });
const matrix: Check = (v) => {
  const e = arr(arr(int, 10_000), 10_000)(v);
  if (e) return e;
  const m = v as number[][];
  if (!m.every((row) => row.length === m.length)) return 'must be square';
  if (!m.every((row) => row.every((x) => x >= 0))) return 'counts must be >= 0';
  return null;
};

const SCHEMAS: Partial<Record<MessageType, Check>> = {
  hello: obj({
    host: strMax(200),
    worker_id: strMax(64),
    labels: arr(strMax(100), 100),
    devices: arr(device, 256),
    cpu_slots: int,
    versions: (v) => (isObj(v) ? null : 'must be an object'),
    runs: arr(obj({ run_id: strMax(64), last_seq: int }), 100_000),
    pid: int,
  }),
  heartbeat: obj({
    devices: optional(arr(obj({ index: int, utilization_pct: numOrNull, memory_used_mb: numOrNull, memory_total_mb: numOrNull, temperature_c: numOrNull }), 256)),
    runs: optional(arr(obj({ run_id: str, epoch: num, step: num, steps_per_epoch: num }), 10_000)),
    cpu_pct: optional(numOrNull),
    mem_used_mb: optional(numOrNull),
  }),
  accepted: obj({ run_id: strMax(64) }),
  rejected: obj({ run_id: strMax(64), reason: strMax(10_000) }),
  started: obj({ pid: int, device: str, attempt: int, params: num, dataset: obj({ train_size: int, test_size: int, class_names: arr(str, 10_000) }) }),
  metrics: obj({ points: arr(obj({ key: strMax(64), step: int, epoch: int, value: num, wall_time: num }), 1_000_000) }),
  log: obj({ level: oneOf('debug', 'info', 'warning', 'error'), message: strMax(100_000) }),
  evaluation: obj({
    epoch: int,
    class_names: arr(str, 10_000),
    matrix,
    misclassified: arr(obj({ index: int, true: int, pred: int }), 1_000_000),
    loss: num,
    samples: int,
  }),
  checkpoint: obj({ epoch: int, path: strMax(4096), bytes: num, final: (v) => (typeof v === 'boolean' ? null : 'must be a boolean') }),
  finished: obj({ status: oneOf('succeeded', 'failed', 'cancelled', 'skipped'), error: strOrNull, epochs_completed: int }),
};

/** Returns null when the content is acceptable for its type, else a reason naming the field. */
export function validateContent(type: MessageType, content: unknown): string | null {
  const check = SCHEMAS[type] ?? any;
  return check(content);
}
