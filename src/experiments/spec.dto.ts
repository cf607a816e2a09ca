// Partial RunSpec sections as they appear in an experiment document (base sections and variant
// overrides). Every field is optional here because omitted fields take defaultRunSpec()'s value;
// a present field is always typed and range-checked, and null is accepted only where RunSpec allows it.
import 'reflect-metadata';
import { DATA_SOURCES } from '../contracts/spec.js';
import {
  ArrayLength,
  Bool,
  Int,
  Nested,
  NestedList,
  Nullable,
  Num,
  NumList,
  OneOf,
  Optional,
  Pair,
  PretrainedValue,
  Str,
  StrList,
} from './validators.js';

export const LIMITS = {
  kernel: [1, 15],
  stride: [1, 8],
  padding: [0, 7],
  num_classes: [2, 10000],
  image_size: [8, 1024],
  subset: [1, 100_000_000],
  epochs: [1, 10000],
  batch_size: [1, 65536],
  seed: [0, 4294967295],
  gpus: [0, 64],
  min_gpu_memory_mb: [0, 10_000_000],
  priority: [-1000, 1000],
  max_restarts: [0, 100],
  augment_ops: 16,
  labels: 32,
  label_length: 64,
} as const;

export const AUGMENT_OPS = ['hflip', 'rotation', 'affine'] as const;
export const INTERPOLATIONS = ['nearest', 'bilinear'] as const;
export const OPTIMIZERS = ['adam', 'adamw', 'sgd'] as const;
export const SCHEDULES = ['none', 'step', 'cosine', 'onecycle'] as const;
export const PRECISIONS = ['auto', 'fp32', 'bf16', 'fp16'] as const;
export const LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
const LABEL_RULE = { max: LIMITS.label_length, pattern: LABEL_PATTERN, patternText: 'letters, digits, _ . : - (starting with a letter or digit)' };

export class Conv1Dto {
  @Optional() @Int(...LIMITS.kernel) kernel?: number;
  @Optional() @Int(...LIMITS.stride) stride?: number;
  @Optional() @Int(...LIMITS.padding) padding?: number;
}

export class ModelDto {
  @Optional() @OneOf(['resnet18']) arch?: string;
  @Optional() @PretrainedValue() pretrained?: boolean | string;
  @Nullable() @Nested(() => Conv1Dto, { nullable: true }) conv1?: Conv1Dto | null;
  @Optional() @Bool() maxpool?: boolean;
  @Optional() @Int(...LIMITS.num_classes) num_classes?: number;
}

export class NormalizeDto {
  @Optional() @NumList(1, 4, -1000, 1000) mean?: number[];
  @Optional() @NumList(1, 4, 0, 1000, { minExclusive: true }) std?: number[];
}

// Augment entries are whole values (arrays replace on merge), so their fields are required.
export class HflipDto {
  @OneOf(['hflip']) op!: 'hflip';
  @Num(0, 1) p!: number;
}

export class RotationDto {
  @OneOf(['rotation']) op!: 'rotation';
  @Pair(-180, 180) degrees!: [number, number];
  @Optional() @OneOf(INTERPOLATIONS) interpolation?: string;
}

export class AffineDto {
  @OneOf(['affine']) op!: 'affine';
  @Optional() @Pair(-180, 180) degrees?: [number, number];
  @Num(0, 90) shear!: number;
  @Pair(0, 10, { minExclusive: true }) scale!: [number, number];
  @Optional() @OneOf(INTERPOLATIONS) interpolation?: string;
}

/** An entry whose `op` is missing or unknown: only the op is reported, not every other key. */
export class UnknownAugmentDto {
  @OneOf(AUGMENT_OPS) op!: unknown;
}

function augmentClass(item: Record<string, unknown>): (new () => object) | UnknownAugmentDto {
  switch (item.op) {
    case 'hflip':
      return HflipDto;
    case 'rotation':
      return RotationDto;
    case 'affine':
      return AffineDto;
    default:
      return Object.assign(new UnknownAugmentDto(), { op: item.op });
  }
}

export class SyntheticDto {
  @Optional() @Int(1, 1_000_000) train_size?: number;
  @Optional() @Int(1, 1_000_000) test_size?: number;
  @Optional() @Int(...LIMITS.image_size) image_size?: number;
  @Optional() @Int(...LIMITS.num_classes) num_classes?: number;
}

export class DataDto {
  @Optional() @OneOf(DATA_SOURCES) source?: string;
  @Nullable() @Str({ max: 4096 }) path?: string | null;
  @Nullable() @Int(...LIMITS.subset) train_subset?: number | null;
  @Nullable() @Int(...LIMITS.subset) test_subset?: number | null;
  @Nullable() @Int(...LIMITS.image_size) pad_to?: number | null;
  @Nullable() @Int(...LIMITS.image_size) resize?: number | null;
  @Optional() @OneOf([1, 3]) channels?: 1 | 3;
  @Nullable() @Nested(() => NormalizeDto, { nullable: true }) normalize?: NormalizeDto | null;
  @Optional() @ArrayLength(0, LIMITS.augment_ops) @NestedList(augmentClass) augment?: object[];
  @Optional() @Nested(() => SyntheticDto) synthetic?: SyntheticDto;
}

export class ScheduleDto {
  @Optional() @OneOf(SCHEDULES) name?: string;
  @Optional() @Int(1, 100000) step_size?: number;
  @Optional() @Num(0, 1, { minExclusive: true }) gamma?: number;
  @Optional() @Num(0, 10, { minExclusive: true }) max_lr?: number;
}

export class OptimDto {
  @Optional() @OneOf(OPTIMIZERS) name?: string;
  @Optional() @Num(0, 10, { minExclusive: true }) lr?: number;
  @Optional() @Num(0, 1) weight_decay?: number;
  @Optional() @Num(0, 1, { maxExclusive: true }) momentum?: number;
  @Optional() @Nested(() => ScheduleDto) schedule?: ScheduleDto;
}

export class TrainDto {
  @Optional() @Int(...LIMITS.epochs) epochs?: number;
  @Optional() @Int(...LIMITS.batch_size) batch_size?: number;
  @Optional() @Int(...LIMITS.seed) seed?: number;
  @Optional() @OneOf(PRECISIONS) precision?: string;
  @Optional() @Bool() channels_last?: boolean;
  @Optional() @Int(1, 10000) eval_every?: number;
  @Optional() @Bool() compile?: boolean;
}

export class ResourcesDto {
  @Optional() @Int(...LIMITS.gpus) gpus?: number;
  @Optional() @Int(...LIMITS.min_gpu_memory_mb) min_gpu_memory_mb?: number;
  @Optional() @StrList(LIMITS.labels, LABEL_RULE) labels?: string[];
  @Optional() @Bool() share?: boolean;
}

/** The RunSpec sections an experiment document (and each variant's overrides) may set. */
export class RunSpecOverridesDto {
  @Optional() @Nested(() => ModelDto) model?: ModelDto;
  @Optional() @Nested(() => DataDto) data?: DataDto;
  @Optional() @Nested(() => OptimDto) optim?: OptimDto;
  @Optional() @Nested(() => TrainDto) train?: TrainDto;
  @Optional() @Nested(() => ResourcesDto) resources?: ResourcesDto;
  @Optional() @Int(...LIMITS.priority) priority?: number;
  @Optional() @Int(...LIMITS.max_restarts) max_restarts?: number;
}

export const RUN_SPEC_SECTIONS = ['model', 'data', 'optim', 'train', 'resources', 'priority', 'max_restarts'] as const;
