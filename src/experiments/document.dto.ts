// The experiment document: name and metadata, base RunSpec sections, and the sweeps. grid and
// random.params have dotted paths as keys, which class-validator cannot whitelist; sweeps.ts checks them.
import 'reflect-metadata';
import { RunSpecOverridesDto } from './spec.dto.js';
import { ArrayLength, Int, Nested, NestedList, Optional, PlainObject, Str, StrList } from './validators.js';

export const DEFAULT_RUN_LIMIT = 500;
export const MAX_RUN_LIMIT = 5000;
export const MAX_DOCUMENT_BYTES = 256 * 1024;
export const MAX_DOCUMENT_DEPTH = 16;
export const MAX_VARIANTS = 1000;
export const MAX_SWEEP_KEYS = 32;
export const MAX_SWEEP_VALUES = 1000;

export class VariantDto {
  @Str({ max: 120 }) name!: string;
  @Optional() @Nested(() => RunSpecOverridesDto) overrides?: RunSpecOverridesDto;
}

export class RandomDto {
  @Int(1, MAX_RUN_LIMIT) n!: number;
  @Optional() @Int(0, 4294967295) seed?: number;
  @PlainObject() params!: Record<string, unknown>;
}

export class ExperimentDocumentDto extends RunSpecOverridesDto {
  @Str({ max: 120 }) name!: string;
  @Optional() @Str({ min: 0, max: 10000 }) description?: string;
  @Optional() @StrList(32, { max: 64 }) tags?: string[];
  @Optional() @ArrayLength(1, MAX_VARIANTS) @NestedList(() => VariantDto) variants?: VariantDto[];
  @Optional() @PlainObject() grid?: Record<string, unknown>;
  @Optional() @Nested(() => RandomDto) random?: RandomDto;
  @Optional() @Int(1, MAX_RUN_LIMIT) limit?: number;
}
