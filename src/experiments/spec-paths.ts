// The addressable places of a RunSpec, by dotted path. Sweeps (grid, random) may only target these;
// the table also tells random sampling which paths are numeric and which must stay integers.

export type FieldKind = 'int' | 'number' | 'boolean' | 'string' | 'enum' | 'object' | 'array' | 'mixed';

export interface FieldInfo {
  kind: FieldKind;
  /** null is a legal value (it means "off" or "use the default"). */
  nullable?: boolean;
}

export const SPEC_FIELDS: Readonly<Record<string, FieldInfo>> = {
  model: { kind: 'object' },
  'model.arch': { kind: 'enum' },
  'model.pretrained': { kind: 'mixed' },
  'model.conv1': { kind: 'object', nullable: true },
  'model.conv1.kernel': { kind: 'int' },
  'model.conv1.stride': { kind: 'int' },
  'model.conv1.padding': { kind: 'int' },
  'model.maxpool': { kind: 'boolean' },
  'model.num_classes': { kind: 'int' },
  data: { kind: 'object' },
  'data.source': { kind: 'enum' },
  'data.path': { kind: 'string', nullable: true },
  'data.train_subset': { kind: 'int', nullable: true },
  'data.test_subset': { kind: 'int', nullable: true },
  'data.pad_to': { kind: 'int', nullable: true },
  'data.resize': { kind: 'int', nullable: true },
  'data.channels': { kind: 'int' },
  'data.normalize': { kind: 'object', nullable: true },
  'data.normalize.mean': { kind: 'array' },
  'data.normalize.std': { kind: 'array' },
  'data.augment': { kind: 'array' },
  'data.synthetic': { kind: 'object' },
  'data.synthetic.train_size': { kind: 'int' },
  'data.synthetic.test_size': { kind: 'int' },
  'data.synthetic.image_size': { kind: 'int' },
  'data.synthetic.num_classes': { kind: 'int' },
  optim: { kind: 'object' },
  'optim.name': { kind: 'enum' },
  'optim.lr': { kind: 'number' },
  'optim.weight_decay': { kind: 'number' },
  'optim.momentum': { kind: 'number' },
  'optim.schedule': { kind: 'object' },
  'optim.schedule.name': { kind: 'enum' },
  'optim.schedule.step_size': { kind: 'int' },
  'optim.schedule.gamma': { kind: 'number' },
  'optim.schedule.max_lr': { kind: 'number' },
  train: { kind: 'object' },
  'train.epochs': { kind: 'int' },
  'train.batch_size': { kind: 'int' },
  'train.seed': { kind: 'int' },
  'train.precision': { kind: 'enum' },
  'train.channels_last': { kind: 'boolean' },
  'train.eval_every': { kind: 'int' },
  'train.compile': { kind: 'boolean' },
  resources: { kind: 'object' },
  'resources.gpus': { kind: 'int' },
  'resources.min_gpu_memory_mb': { kind: 'int' },
  'resources.labels': { kind: 'array' },
  'resources.share': { kind: 'boolean' },
  priority: { kind: 'int' },
  max_restarts: { kind: 'int' },
};

export const SPEC_PATHS: readonly string[] = Object.keys(SPEC_FIELDS);

export function specField(path: string): FieldInfo | undefined {
  return Object.prototype.hasOwnProperty.call(SPEC_FIELDS, path) ? SPEC_FIELDS[path] : undefined;
}

export function isNumericPath(path: string): boolean {
  const kind = specField(path)?.kind;
  return kind === 'int' || kind === 'number';
}

/** Closest known path, for "did you mean" hints on typos. */
export function suggestPath(path: string): string | null {
  return closest(path, SPEC_PATHS, 3);
}

export function closest(word: string, choices: readonly string[], maxDistance: number): string | null {
  let best: string | null = null;
  let bestDistance = maxDistance + 1;
  for (const choice of choices) {
    const d = levenshtein(word.toLowerCase(), choice.toLowerCase());
    if (d < bestDistance) {
      best = choice;
      bestDistance = d;
    }
  }
  return best;
}

function levenshtein(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 8) return Math.abs(a.length - b.length);
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** Whether the dotted path is present (own properties all the way down), even with a null value. */
export function hasPath(obj: unknown, path: string): boolean {
  let cur: unknown = obj;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return false;
    if (!Object.prototype.hasOwnProperty.call(cur, key)) return false;
    cur = (cur as Record<string, unknown>)[key];
  }
  return true;
}

/** A fresh nested object holding `value` at `path`: {a: {b: value}} for "a.b". */
export function objectAtPath(path: string, value: unknown): Record<string, unknown> {
  const keys = path.split('.');
  const root: Record<string, unknown> = {};
  let cur = root;
  for (let i = 0; i < keys.length - 1; i++) {
    const next: Record<string, unknown> = {};
    cur[keys[i]] = next;
    cur = next;
  }
  cur[keys[keys.length - 1]] = value;
  return root;
}
