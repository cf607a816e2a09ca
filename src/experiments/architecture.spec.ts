import { describe, expect, it } from '@jest/globals';
import { defaultRunSpec, type RunSpec } from '../contracts/spec.js';
import { checkArchitecture, convOut, inputSize } from './architecture.js';

function spec(mut: (s: RunSpec) => void): RunSpec {
  const s = defaultRunSpec();
  mut(s);
  return s;
}

const shapes = (s: RunSpec): Record<string, string> =>
  Object.fromEntries(checkArchitecture(s).layers.map((l) => [l.name, l.output.join('x')]));

describe('checkArchitecture', () => {
  it("matches the notebook's torchinfo table at 36x36", () => {
    const report = checkArchitecture(defaultRunSpec());
    expect(report.ok).toBe(true);
    expect(report.input).toEqual([3, 36, 36]);
    expect(shapes(defaultRunSpec())).toEqual({
      conv1: '64x18x18',
      maxpool: '64x9x9',
      layer1: '64x9x9',
      layer2: '128x5x5',
      layer3: '256x3x3',
      layer4: '512x2x2',
      avgpool: '512x1x1',
    });
  });

  it('follows resize 224 to the 7x7 layer4 of the ImageNet network', () => {
    expect(shapes(spec((s) => (s.data.resize = 224))).layer4).toBe('512x7x7');
  });

  it('keeps the stride-1 conv1 and no-maxpool variants at higher resolution', () => {
    const s1 = shapes(spec((s) => (s.model.conv1 = { kernel: 7, stride: 1, padding: 3 })));
    expect([s1.conv1, s1.maxpool, s1.layer4]).toEqual(['64x36x36', '64x18x18', '512x3x3']);
    const s2 = shapes(spec((s) => (s.model.conv1 = { kernel: 5, stride: 1, padding: 2 })));
    expect(s2.conv1).toBe('64x36x36');
    const s3 = shapes(spec((s) => (s.model.maxpool = false)));
    expect([s3.conv1, s3.maxpool, s3.layer1, s3.layer4]).toEqual(['64x18x18', '64x18x18', '64x18x18', '512x3x3']);
  });

  it('uses the native size without pad_to and the channel count of the data', () => {
    expect(checkArchitecture(spec((s) => ((s.data.pad_to = null), (s.data.channels = 1)))).input).toEqual([1, 28, 28]);
    const cifar = spec((s) => ((s.data.source = 'cifar10'), (s.data.pad_to = null)));
    expect(inputSize(cifar)).toBe(32);
    const synth = spec((s) => {
      s.data.source = 'synthetic';
      s.data.pad_to = null;
      s.data.synthetic = { train_size: 8, test_size: 8, image_size: 64, num_classes: 10 };
    });
    expect(checkArchitecture(synth).input).toEqual([3, 64, 64]);
  });

  it('skips unknown input sizes unless resize (or pad_to) is set', () => {
    const unknown = spec((s) => ((s.data.source = 'tensor-files'), (s.data.pad_to = null)));
    const r = checkArchitecture(unknown);
    expect(r.ok).toBe(true);
    expect(r.input).toBeNull();
    expect(r.skipped).toMatch(/unknown/);
    expect(checkArchitecture(spec((s) => ((s.data.source = 'image-folder'), (s.data.pad_to = null), (s.data.resize = 96)))).input).toEqual([3, 96, 96]);
  });

  it('refuses a map that collapses and names the layer', () => {
    const r = checkArchitecture(spec((s) => ((s.data.pad_to = null), (s.data.resize = 8), (s.model.conv1 = { kernel: 15, stride: 1, padding: 0 }))));
    expect(r.ok).toBe(false);
    expect(r.failed_layer).toBe('conv1');
    expect(r.error).toMatch(/collapses below 1x1 at conv1/);
    expect(r.error).toMatch(/8x8 input gives -6x-6/);
  });

  it('refuses an absurd input size', () => {
    const big = checkArchitecture(spec((s) => (s.data.resize = 4096)));
    expect([big.ok, big.failed_layer]).toEqual([false, 'input']);
    expect(checkArchitecture(spec((s) => ((s.data.pad_to = null), (s.data.resize = 4)))).ok).toBe(false);
  });

  it('computes the conv formula with floor', () => {
    expect(convOut(36, 7, 2, 3)).toBe(18);
    expect(convOut(9, 3, 2, 1)).toBe(5);
    expect(convOut(1, 3, 2, 1)).toBe(1);
    expect(convOut(8, 15, 1, 0)).toBe(-6);
  });
});
