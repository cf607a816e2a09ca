// The launcher's custom-experiment form: its state, the experiment document it posts, and the mapping of
// the server's 400 error paths back onto form fields.

import { DATA_SOURCES, type DataSource } from '@contracts/spec';
import type { FieldError } from './types';

export interface ExperimentForm {
  name: string;
  /** 'false' = from scratch, 'true' = torchvision DEFAULT weights from the local cache, 'file' = weights file. */
  pretrained: 'false' | 'true' | 'file';
  weights_file: string;
  conv1_custom: boolean;
  conv1_kernel: string;
  conv1_stride: string;
  conv1_padding: string;
  maxpool: boolean;
  resize: string;
  source: DataSource;
  path: string;
  train_subset: string;
  test_subset: string;
  epochs: string;
  batch_size: string;
  lr: string;
  gpus: string;
}

export type FormField = keyof ExperimentForm;

export function defaultForm(): ExperimentForm {
  return {
    name: '',
    pretrained: 'false',
    weights_file: '',
    conv1_custom: false,
    conv1_kernel: '7',
    conv1_stride: '1',
    conv1_padding: '3',
    maxpool: true,
    resize: '',
    source: 'fashion-mnist',
    path: '',
    train_subset: '',
    test_subset: '',
    epochs: '10',
    batch_size: '64',
    lr: '0.001',
    gpus: '0',
  };
}

/** The dotted document path each form field writes; the server's 400 errors use the same paths. */
export const FIELD_PATHS: Readonly<Record<FormField, string>> = {
  name: 'name',
  pretrained: 'model.pretrained',
  weights_file: 'model.pretrained',
  conv1_custom: 'model.conv1',
  conv1_kernel: 'model.conv1.kernel',
  conv1_stride: 'model.conv1.stride',
  conv1_padding: 'model.conv1.padding',
  maxpool: 'model.maxpool',
  resize: 'data.resize',
  source: 'data.source',
  path: 'data.path',
  train_subset: 'data.train_subset',
  test_subset: 'data.test_subset',
  epochs: 'train.epochs',
  batch_size: 'train.batch_size',
  lr: 'optim.lr',
  gpus: 'resources.gpus',
};

export interface BuiltDocument {
  doc: Record<string, unknown>;
  errors: FieldError[];
}

function intField(raw: string, path: string, errors: FieldError[], opts: { min: number; optional: boolean }): number | undefined {
  const s = raw.trim();
  if (s === '') {
    if (!opts.optional) errors.push({ path, message: 'is required' });
    return undefined;
  }
  const n = Number(s);
  if (!Number.isInteger(n)) {
    errors.push({ path, message: `must be an integer (got "${s}")` });
    return undefined;
  }
  if (n < opts.min) {
    errors.push({ path, message: `must be at least ${opts.min}` });
    return undefined;
  }
  return n;
}

/**
 * Builds the experiment document. Only the fields the form controls are sent; the server fills every
 * other field from the RunSpec defaults. Local checks catch typing mistakes only; the server decides.
 */
export function formToDocument(f: ExperimentForm): BuiltDocument {
  const errors: FieldError[] = [];
  const name = f.name.trim();
  if (!name) errors.push({ path: 'name', message: 'is required' });

  let pretrained: boolean | string = f.pretrained === 'true';
  if (f.pretrained === 'file') {
    pretrained = f.weights_file.trim();
    if (!pretrained) errors.push({ path: 'model.pretrained', message: 'weights file path is required' });
  }
  let conv1: { kernel: number; stride: number; padding: number } | null = null;
  if (f.conv1_custom) {
    const kernel = intField(f.conv1_kernel, 'model.conv1.kernel', errors, { min: 1, optional: false });
    const stride = intField(f.conv1_stride, 'model.conv1.stride', errors, { min: 1, optional: false });
    const padding = intField(f.conv1_padding, 'model.conv1.padding', errors, { min: 0, optional: false });
    if (kernel !== undefined && stride !== undefined && padding !== undefined) conv1 = { kernel, stride, padding };
  }
  const resize = intField(f.resize, 'data.resize', errors, { min: 1, optional: true });
  const trainSubset = intField(f.train_subset, 'data.train_subset', errors, { min: 1, optional: true });
  const testSubset = intField(f.test_subset, 'data.test_subset', errors, { min: 1, optional: true });
  const epochs = intField(f.epochs, 'train.epochs', errors, { min: 1, optional: false });
  const batchSize = intField(f.batch_size, 'train.batch_size', errors, { min: 1, optional: false });
  const gpus = intField(f.gpus, 'resources.gpus', errors, { min: 0, optional: true });
  let lr: number | undefined;
  const lrRaw = f.lr.trim();
  if (lrRaw === '') errors.push({ path: 'optim.lr', message: 'is required' });
  else {
    lr = Number(lrRaw);
    if (!Number.isFinite(lr) || lr <= 0) {
      errors.push({ path: 'optim.lr', message: `must be a positive number (got "${lrRaw}")` });
      lr = undefined;
    }
  }
  if (!(DATA_SOURCES as readonly string[]).includes(f.source)) {
    errors.push({ path: 'data.source', message: `must be one of ${DATA_SOURCES.join(', ')}` });
  }

  const data: Record<string, unknown> = { source: f.source };
  if (f.path.trim()) data.path = f.path.trim();
  if (trainSubset !== undefined) data.train_subset = trainSubset;
  if (testSubset !== undefined) data.test_subset = testSubset;
  if (resize !== undefined) data.resize = resize;
  const train: Record<string, unknown> = {};
  if (epochs !== undefined) train.epochs = epochs;
  if (batchSize !== undefined) train.batch_size = batchSize;
  const doc: Record<string, unknown> = {
    name,
    model: { arch: 'resnet18', pretrained, conv1, maxpool: f.maxpool },
    data,
    optim: lr !== undefined ? { name: 'adam', lr } : { name: 'adam' },
    train,
  };
  if (gpus !== undefined) doc.resources = { gpus };
  return { doc, errors };
}

/** "$.model.conv1[0]", "/model/conv1/kernel", "model.conv1.kernel" -> "model.conv1.kernel". */
export function normalizePath(path: string): string {
  return path
    .trim()
    .replace(/^\$\.?/, '')
    .replace(/^\//, '')
    .replace(/\//g, '.')
    .replace(/\[(\w+)\]/g, '.$1')
    .replace(/^\./, '');
}

/**
 * The form field an error path belongs to: the most specific field whose path equals the error path or
 * is its prefix ("model.conv1.kernel.min" -> conv1_kernel; "model.conv1" -> conv1_custom).
 */
export function fieldForPath(path: string, form?: Pick<ExperimentForm, 'pretrained'>): FormField | null {
  const p = normalizePath(path);
  let best: FormField | null = null;
  let bestLen = -1;
  for (const [field, fp] of Object.entries(FIELD_PATHS) as [FormField, string][]) {
    if ((p === fp || p.startsWith(`${fp}.`)) && fp.length > bestLen) {
      best = field;
      bestLen = fp.length;
    }
  }
  // model.pretrained is written by two controls: show it on the one the user sees.
  if (best === 'pretrained' || best === 'weights_file') return form?.pretrained === 'file' ? 'weights_file' : 'pretrained';
  return best;
}

/** Groups errors by form field; the ones that match no field are returned under null. */
export function errorsByField(errors: readonly FieldError[], form?: Pick<ExperimentForm, 'pretrained'>): Map<FormField | null, FieldError[]> {
  const out = new Map<FormField | null, FieldError[]>();
  for (const e of errors) {
    const f = fieldForPath(e.path, form);
    const list = out.get(f) ?? [];
    list.push(e);
    out.set(f, list);
  }
  return out;
}

/** Parses the raw JSON editor; a syntax error is reported with its line and column. */
export function parseJsonDocument(text: string): { doc: unknown } | { error: string } {
  if (!text.trim()) return { error: 'the document is empty' };
  try {
    const doc: unknown = JSON.parse(text);
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return { error: 'the document must be a JSON object' };
    return { doc };
  } catch (err) {
    const msg = (err as Error).message;
    const m = /position (\d+)/.exec(msg);
    if (m) {
      const pos = Number(m[1]);
      const before = text.slice(0, pos);
      const line = before.split('\n').length;
      const col = pos - before.lastIndexOf('\n');
      return { error: `invalid JSON at line ${line}, column ${col}: ${msg}` };
    }
    return { error: `invalid JSON: ${msg}` };
  }
}
