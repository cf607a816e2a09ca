// Spatial sizes through torchvision's ResNet18 from the conv arithmetic, so a variant whose feature
// map collapses is refused before it is queued rather than failing minutes later on a worker.
import type { DataSource, RunSpec } from '../contracts/spec.js';
import { LIMITS } from './spec.dto.js';

export type Shape = [number, number, number];
export type LayerName = 'conv1' | 'maxpool' | 'layer1' | 'layer2' | 'layer3' | 'layer4' | 'avgpool';

export interface ArchitectureReport {
  ok: boolean;
  /** [channels, height, width] entering conv1; null when the input size cannot be known here. */
  input: Shape | null;
  layers: { name: LayerName; output: Shape }[];
  error?: string;
  /** The layer (or 'input') that fails. */
  failed_layer?: LayerName | 'input';
  /** Why nothing was computed (input size unknown); ok stays true. */
  skipped?: string;
}

export interface SourceFacts {
  image_size: number;
  classes: number;
  train_size: number;
  test_size: number;
}

/** What is known about the built-in sources without opening them. */
export const SOURCE_FACTS: Partial<Record<DataSource, SourceFacts>> = {
  'fashion-mnist': { image_size: 28, classes: 10, train_size: 60000, test_size: 10000 },
  cifar10: { image_size: 32, classes: 10, train_size: 50000, test_size: 10000 },
};

export function sourceFacts(spec: RunSpec): SourceFacts | null {
  if (spec.data.source === 'synthetic') {
    const s = spec.data.synthetic;
    return s ? { image_size: s.image_size, classes: s.num_classes, train_size: s.train_size, test_size: s.test_size } : null;
  }
  return SOURCE_FACTS[spec.data.source] ?? null;
}

/** resize ?? pad_to ?? the source's native size; null when unknown (tensor-files, image-folder). */
export function inputSize(spec: RunSpec): number | null {
  return spec.data.resize ?? spec.data.pad_to ?? sourceFacts(spec)?.image_size ?? null;
}

export function convOut(size: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}

const STAGES: { name: LayerName; channels: number; stride: number }[] = [
  { name: 'layer1', channels: 64, stride: 1 },
  { name: 'layer2', channels: 128, stride: 2 },
  { name: 'layer3', channels: 256, stride: 2 },
  { name: 'layer4', channels: 512, stride: 2 },
];

export function checkArchitecture(spec: RunSpec): ArchitectureReport {
  const size = inputSize(spec);
  const channels = spec.data.channels;
  if (size === null) {
    return { ok: true, input: null, layers: [], skipped: `input size of ${spec.data.source} is unknown without data.resize or data.pad_to` };
  }
  const [lo, hi] = LIMITS.image_size;
  if (!Number.isInteger(size) || size < lo || size > hi) {
    return { ok: false, input: null, layers: [], failed_layer: 'input', error: `input size ${size} is outside ${lo}..${hi}` };
  }
  const input: Shape = [channels, size, size];
  const layers: { name: LayerName; output: Shape }[] = [];
  const trail = (): string => [input, ...layers.map((l) => l.output)].map((s) => s.join('x')).join(' -> ');
  const step = (name: LayerName, c: number, s: number, how: string): ArchitectureReport | null => {
    if (s < 1) {
      const prev = layers.length ? layers[layers.length - 1].output : input;
      return {
        ok: false,
        input,
        layers,
        failed_layer: name,
        error: `feature map collapses below 1x1 at ${name} (${how}): a ${prev[1]}x${prev[2]} input gives ${s}x${s} (shapes so far: ${trail()})`,
      };
    }
    layers.push({ name, output: [c, s, s] });
    return null;
  };

  const conv1 = spec.model.conv1 ?? { kernel: 7, stride: 2, padding: 3 };
  let s = convOut(size, conv1.kernel, conv1.stride, conv1.padding);
  const fail1 = step('conv1', 64, s, `kernel ${conv1.kernel}, stride ${conv1.stride}, padding ${conv1.padding}`);
  if (fail1) return fail1;
  if (spec.model.maxpool) s = convOut(s, 3, 2, 1);
  const failPool = step('maxpool', 64, s, spec.model.maxpool ? 'kernel 3, stride 2, padding 1' : 'identity');
  if (failPool) return failPool;
  for (const stage of STAGES) {
    // Each stage's first 3x3 conv (padding 1) carries the stride; the rest keep the size.
    s = convOut(s, 3, stage.stride, 1);
    const fail = step(stage.name, stage.channels, s, `3x3 convs, stride ${stage.stride}, padding 1`);
    if (fail) return fail;
  }
  layers.push({ name: 'avgpool', output: [512, 1, 1] });
  return { ok: true, input, layers };
}
