import { describe, expect, it } from '@jest/globals';
import { defaultForm, errorsByField, fieldForPath, formToDocument, normalizePath, parseJsonDocument, type ExperimentForm } from './experimentForm';

const form = (patch: Partial<ExperimentForm>): ExperimentForm => ({ ...defaultForm(), name: 'exp', ...patch });

describe('formToDocument', () => {
  it('writes the notebook defaults as a partial document', () => {
    const { doc, errors } = formToDocument(form({}));
    expect(errors).toEqual([]);
    expect(doc).toEqual({
      name: 'exp',
      model: { arch: 'resnet18', pretrained: false, conv1: null, maxpool: true },
      data: { source: 'fashion-mnist' },
      optim: { name: 'adam', lr: 0.001 },
      train: { epochs: 10, batch_size: 64 },
      resources: { gpus: 0 },
    });
  });

  it('writes a modified variant: conv1 5x5 stride 1, no maxpool, resize, subsets, pretrained', () => {
    const { doc, errors } = formToDocument(
      form({ pretrained: 'true', conv1_custom: true, conv1_kernel: '5', conv1_stride: '1', conv1_padding: '2', maxpool: false, resize: '224', train_subset: '256', test_subset: ' 128 ', path: ' /data/x ', source: 'tensor-files', lr: '3e-4', epochs: '1' }),
    );
    expect(errors).toEqual([]);
    expect(doc.model).toEqual({ arch: 'resnet18', pretrained: true, conv1: { kernel: 5, stride: 1, padding: 2 }, maxpool: false });
    expect(doc.data).toEqual({ source: 'tensor-files', path: '/data/x', train_subset: 256, test_subset: 128, resize: 224 });
    expect(doc.optim).toEqual({ name: 'adam', lr: 0.0003 });
    expect(doc.train).toEqual({ epochs: 1, batch_size: 64 });
  });

  it('sends a weights file path as pretrained', () => {
    expect(formToDocument(form({ pretrained: 'file', weights_file: '/w/r18.pth' })).doc.model).toMatchObject({ pretrained: '/w/r18.pth' });
    expect(formToDocument(form({ pretrained: 'file', weights_file: ' ' })).errors).toEqual([{ path: 'model.pretrained', message: 'weights file path is required' }]);
  });

  it('names every local problem by its document path, all at once', () => {
    const { errors } = formToDocument(form({ name: ' ', conv1_custom: true, conv1_kernel: '3.5', conv1_padding: '-1', epochs: '', batch_size: 'x', lr: '0', resize: '0' }));
    expect(errors.map((e) => e.path).sort()).toEqual(['data.resize', 'model.conv1.kernel', 'model.conv1.padding', 'name', 'optim.lr', 'train.batch_size', 'train.epochs']);
  });

  it('refuses an unknown data source', () => {
    expect(formToDocument(form({ source: 'mnist' as never })).errors.map((e) => e.path)).toEqual(['data.source']);
  });
});

describe('error paths', () => {
  it('normalizes the common path spellings', () => {
    expect(normalizePath('$.model.conv1.kernel')).toBe('model.conv1.kernel');
    expect(normalizePath('/model/conv1/kernel')).toBe('model.conv1.kernel');
    expect(normalizePath('data.augment[1].degrees')).toBe('data.augment.1.degrees');
  });

  it('maps a path to the most specific form field', () => {
    expect(fieldForPath('model.conv1.kernel')).toBe('conv1_kernel');
    expect(fieldForPath('model.conv1')).toBe('conv1_custom');
    expect(fieldForPath('train.epochs.max')).toBe('epochs');
    expect(fieldForPath('data.normalize.mean')).toBeNull();
    expect(fieldForPath('model.conv1_extra')).toBeNull();
  });

  it('puts pretrained errors on the control the user sees', () => {
    expect(fieldForPath('model.pretrained', { pretrained: 'true' })).toBe('pretrained');
    expect(fieldForPath('model.pretrained', { pretrained: 'file' })).toBe('weights_file');
  });

  it('groups errors, keeping unmatched ones under null', () => {
    const g = errorsByField([
      { path: 'train.epochs', message: 'a' },
      { path: 'train.epochs', message: 'b' },
      { path: 'grid', message: 'c' },
    ]);
    expect(g.get('epochs')!.map((e) => e.message)).toEqual(['a', 'b']);
    expect(g.get(null)!.map((e) => e.message)).toEqual(['c']);
  });
});

describe('parseJsonDocument', () => {
  it('accepts an object', () => expect(parseJsonDocument('{"name":"x"}')).toEqual({ doc: { name: 'x' } }));
  it('refuses empty text, arrays and scalars', () => {
    expect(parseJsonDocument('  ')).toEqual({ error: 'the document is empty' });
    expect(parseJsonDocument('[1]')).toEqual({ error: 'the document must be a JSON object' });
    expect(parseJsonDocument('3')).toEqual({ error: 'the document must be a JSON object' });
  });
  it('reports where the syntax breaks', () => {
    const r = parseJsonDocument('{\n  "name": "x",\n  oops\n}');
    // V8 (node, Chromium) reports a character position; the line and column are derived from it.
    expect('error' in r && r.error).toMatch(/^invalid JSON at line 3, column 3: /);
  });
});
