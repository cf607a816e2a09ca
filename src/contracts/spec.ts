// The fully resolved specification of one run: what the orchestrator stores per run and what the
// worker's trainer receives in `assign`. Keys are snake_case because Python reads the same JSON.
// The experiment document (with sweeps) is validated and expanded into these in src/experiments.

export type DataSource = 'tensor-files' | 'cifar10' | 'image-folder' | 'fashion-mnist' | 'synthetic';
export const DATA_SOURCES: readonly DataSource[] = ['tensor-files', 'cifar10', 'image-folder', 'fashion-mnist', 'synthetic'];

export type Interpolation = 'nearest' | 'bilinear';

/** The notebook's augmentations, applied in order on whole batches on the training device. */
export type AugmentOp =
  | { op: 'hflip'; p: number }
  | { op: 'rotation'; degrees: [number, number]; interpolation?: Interpolation }
  | { op: 'affine'; degrees?: [number, number]; shear: number; scale: [number, number]; interpolation?: Interpolation };

export interface Conv1Spec {
  kernel: number;
  stride: number;
  padding: number;
}

export interface ModelSpec {
  arch: 'resnet18';
  /** false = random init; true = torchvision DEFAULT weights from the local cache; string = weights file. */
  pretrained: boolean | string;
  /** null keeps torchvision's conv1 (7x7, stride 2, padding 3). */
  conv1: Conv1Spec | null;
  maxpool: boolean;
  num_classes: number;
}

export interface DataSpec {
  source: DataSource;
  /** Folder or file root; defaults per source (fashion-mnist: /usr/share/datasets/fashion-mnist). */
  path: string | null;
  train_subset: number | null;
  test_subset: number | null;
  /** Pad images to this square size (Fashion-MNIST 28 -> 36 like the notebook's 36x36 inputs). */
  pad_to: number | null;
  /** Resize to this square size after padding (the notebook's 224 runs). */
  resize: number | null;
  /** 3 replicates grayscale to RGB. */
  channels: 1 | 3;
  normalize: { mean: number[]; std: number[] } | null;
  augment: AugmentOp[];
  /** Synthetic source only. */
  synthetic?: { train_size: number; test_size: number; image_size: number; num_classes: number };
}

export type OptimizerName = 'adam' | 'adamw' | 'sgd';
export type ScheduleName = 'none' | 'step' | 'cosine' | 'onecycle';

export interface OptimSpec {
  name: OptimizerName;
  lr: number;
  weight_decay: number;
  momentum: number;
  schedule: { name: ScheduleName; step_size?: number; gamma?: number; max_lr?: number };
}

export type Precision = 'auto' | 'fp32' | 'bf16' | 'fp16';

export interface TrainSpec {
  epochs: number;
  batch_size: number;
  seed: number;
  precision: Precision;
  channels_last: boolean;
  eval_every: number;
  compile: boolean;
}

export interface ResourceSpec {
  /** 0 = a CPU slot; >= 1 = that many GPUs on one host. */
  gpus: number;
  min_gpu_memory_mb: number;
  labels: string[];
  /** Allow another run on the same device at the same time. */
  share: boolean;
}

export interface RunSpec {
  model: ModelSpec;
  data: DataSpec;
  optim: OptimSpec;
  train: TrainSpec;
  resources: ResourceSpec;
  priority: number;
  max_restarts: number;
}

/** The notebook's CIFAR-10 normalization and augmentation, used by the seed study. */
export const NOTEBOOK_NORMALIZE = { mean: [0.491, 0.482, 0.446], std: [0.247, 0.243, 0.261] };
export const NOTEBOOK_AUGMENT: AugmentOp[] = [
  { op: 'hflip', p: 0.5 },
  { op: 'rotation', degrees: [-7, 7] },
  { op: 'affine', degrees: [0, 0], shear: 10, scale: [0.8, 1.2] },
];

export const DEFAULT_FASHION_MNIST_PATH = '/usr/share/datasets/fashion-mnist';

/** Defaults for every field, so partial documents resolve to a complete RunSpec. */
export function defaultRunSpec(): RunSpec {
  return {
    model: { arch: 'resnet18', pretrained: false, conv1: null, maxpool: true, num_classes: 10 },
    data: {
      source: 'fashion-mnist',
      path: null,
      train_subset: null,
      test_subset: null,
      pad_to: 36,
      resize: null,
      channels: 3,
      normalize: { ...NOTEBOOK_NORMALIZE, mean: [...NOTEBOOK_NORMALIZE.mean], std: [...NOTEBOOK_NORMALIZE.std] },
      augment: NOTEBOOK_AUGMENT.map((a) => JSON.parse(JSON.stringify(a)) as AugmentOp),
    },
    optim: { name: 'adam', lr: 1e-3, weight_decay: 0, momentum: 0.9, schedule: { name: 'none' } },
    train: { epochs: 10, batch_size: 64, seed: 0, precision: 'auto', channels_last: true, eval_every: 1, compile: false },
    resources: { gpus: 0, min_gpu_memory_mb: 0, labels: [], share: false },
    priority: 0,
    max_restarts: 2,
  };
}
