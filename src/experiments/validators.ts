// class-validator decorators with messages that read well after a dotted path ("model.conv1.kernel:
// must be an integer in [1, 15] (got 17)"). A message line that starts with "[i]" names an element of
// the validated array; flattenValidationErrors moves that index into the path.
import 'reflect-metadata';
import { Transform, plainToInstance } from 'class-transformer';
import { IsOptional, ValidateBy, ValidateIf, ValidateNested, type ValidationArguments } from 'class-validator';
import { isPlainObject } from './deep-merge.js';

type Ctor<T = object> = new () => T;

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) {
    const json = JSON.stringify(value);
    return json !== undefined && json.length <= 40 ? json : `an array of ${value.length}`;
  }
  return 'an object';
}

function rule(name: string, check: (value: unknown) => boolean, expectation: string | ((value: unknown) => string)): PropertyDecorator {
  return ValidateBy({
    name,
    validator: {
      validate: (value: unknown) => check(value),
      defaultMessage: (args?: ValidationArguments) => {
        const value = args?.value;
        if (value === undefined) return 'is required';
        const text = typeof expectation === 'string' ? expectation : expectation(value);
        return text.startsWith('[') ? text : `${text} (got ${describeValue(value)})`;
      },
    },
  });
}

/** Present-but-null is still validated (and refused); only a missing key is skipped. */
export function Optional(): PropertyDecorator {
  return ValidateIf((_obj: object, value: unknown) => value !== undefined);
}

/** Missing or null are both fine: null switches a nullable setting off. */
export function Nullable(): PropertyDecorator {
  return IsOptional();
}

export function interval(min: number, max: number, minExclusive = false, maxExclusive = false): string {
  return `${minExclusive ? '(' : '['}${min}, ${max}${maxExclusive ? ')' : ']'}`;
}

function inRange(v: number, min: number, max: number, minExclusive: boolean, maxExclusive: boolean): boolean {
  return (minExclusive ? v > min : v >= min) && (maxExclusive ? v < max : v <= max);
}

export function Int(min: number, max: number): PropertyDecorator {
  return rule(
    'int',
    (v) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max,
    `must be an integer in ${interval(min, max)}`,
  );
}

export interface NumOptions {
  minExclusive?: boolean;
  maxExclusive?: boolean;
}

export function Num(min: number, max: number, opts: NumOptions = {}): PropertyDecorator {
  const minEx = opts.minExclusive ?? false;
  const maxEx = opts.maxExclusive ?? false;
  return rule(
    'num',
    (v) => typeof v === 'number' && Number.isFinite(v) && inRange(v, min, max, minEx, maxEx),
    `must be a number in ${interval(min, max, minEx, maxEx)}`,
  );
}

export function OneOf(values: readonly (string | number | boolean)[]): PropertyDecorator {
  return rule('oneOf', (v) => values.includes(v as string), `must be one of ${values.join(', ')}`);
}

export function Bool(): PropertyDecorator {
  return rule('bool', (v) => typeof v === 'boolean', 'must be true or false');
}

export interface StrOptions {
  min?: number;
  max: number;
  pattern?: RegExp;
  patternText?: string;
}

function strProblem(v: unknown, o: StrOptions): string | null {
  const min = o.min ?? 1;
  if (typeof v !== 'string') return 'must be a string';
  if (v.length < min || v.length > o.max) return `must be ${min}-${o.max} characters long`;
  if (min > 0 && v.trim().length === 0) return 'must not be blank';
  if (o.pattern && !o.pattern.test(v)) return `must match ${o.patternText ?? o.pattern.source}`;
  return null;
}

export function Str(o: StrOptions): PropertyDecorator {
  return rule('str', (v) => strProblem(v, o) === null, (v) => strProblem(v, o) ?? 'is invalid');
}

function listProblems(v: unknown, minItems: number, maxItems: number, item: (x: unknown) => string | null): string | null {
  if (!Array.isArray(v)) return 'must be an array';
  if (v.length < minItems || v.length > maxItems) return `must have ${minItems}-${maxItems} items (got ${v.length})`;
  const lines: string[] = [];
  v.forEach((x, i) => {
    const p = item(x);
    if (p) lines.push(`[${i}] ${p} (got ${describeValue(x)})`);
  });
  return lines.length ? lines.join('\n') : null;
}

export function StrList(maxItems: number, each: StrOptions, unique = true): PropertyDecorator {
  const problems = (v: unknown): string | null => {
    const p = listProblems(v, 0, maxItems, (x) => strProblem(x, each));
    if (p || !unique) return p;
    const arr = v as string[];
    const dup = arr.findIndex((x, i) => arr.indexOf(x) !== i);
    return dup >= 0 ? `[${dup}] duplicates ${JSON.stringify(arr[dup])}` : null;
  };
  return rule('strList', (v) => problems(v) === null, (v) => problems(v) ?? 'is invalid');
}

export function NumList(minItems: number, maxItems: number, min: number, max: number, opts: NumOptions = {}): PropertyDecorator {
  const minEx = opts.minExclusive ?? false;
  const maxEx = opts.maxExclusive ?? false;
  const problems = (v: unknown): string | null =>
    listProblems(v, minItems, maxItems, (x) =>
      typeof x === 'number' && Number.isFinite(x) && inRange(x, min, max, minEx, maxEx)
        ? null
        : `must be a number in ${interval(min, max, minEx, maxEx)}`,
    );
  return rule('numList', (v) => problems(v) === null, (v) => problems(v) ?? 'is invalid');
}

/** [low, high] with both in range and low <= high (rotation degrees, affine scale). */
export function Pair(min: number, max: number, opts: NumOptions = {}): PropertyDecorator {
  const problems = (v: unknown): string | null => {
    if (!Array.isArray(v) || v.length !== 2) return 'must be a [low, high] pair';
    const p = listProblems(v, 2, 2, (x) =>
      typeof x === 'number' && Number.isFinite(x) && inRange(x, min, max, opts.minExclusive ?? false, opts.maxExclusive ?? false)
        ? null
        : `must be a number in ${interval(min, max, opts.minExclusive, opts.maxExclusive)}`,
    );
    if (p) return p;
    const [lo, hi] = v as [number, number];
    return lo <= hi ? null : 'must be [low, high] with low <= high';
  };
  return rule('pair', (v) => problems(v) === null, (v) => problems(v) ?? 'is invalid');
}

export function PretrainedValue(): PropertyDecorator {
  const ok = (v: unknown): boolean => typeof v === 'boolean' || (typeof v === 'string' && v.trim().length > 0 && v.length <= 4096);
  return rule('pretrained', ok, 'must be false, true (torchvision DEFAULT weights) or a non-empty weights file path');
}

export function PlainObject(): PropertyDecorator {
  return rule('plainObject', (v) => isPlainObject(v), 'must be an object');
}

export function ArrayLength(minItems: number, maxItems: number): PropertyDecorator {
  // Non-arrays are reported by the InvalidValue placeholder that Nested/NestedList put in their place.
  return rule(
    'arrayLength',
    (v) => !Array.isArray(v) || (v.length >= minItems && v.length <= maxItems),
    (v) => `must have ${minItems}-${maxItems} items (got ${Array.isArray(v) ? v.length : 0})`,
  );
}

/**
 * Stands in for a value that should have been an object (or array) and was not, so that the error
 * lands on the value's own path instead of a vague "nested property" message on its parent.
 */
export class InvalidValue {
  @ValidateBy({
    name: 'invalidValue',
    validator: { validate: () => false, defaultMessage: (args?: ValidationArguments) => String(args?.value) },
  })
  __self__!: string;

  static of(reason: string): InvalidValue {
    const v = new InvalidValue();
    v.__self__ = reason;
    return v;
  }
}

export const SELF_PROPERTY = '__self__';

function toInstance(cls: Ctor, raw: unknown): unknown {
  if (isPlainObject(raw)) return plainToInstance(cls, raw);
  return InvalidValue.of(`must be an object (got ${describeValue(raw)})`);
}

/** A nested section: plain object -> class instance; anything else -> an error on this path. */
export function Nested(cls: () => Ctor, opts: { nullable?: boolean } = {}): PropertyDecorator {
  const transform = Transform(
    ({ obj, key }) => {
      const raw = (obj as Record<string, unknown>)[key];
      if (raw === undefined) return undefined;
      if (raw === null && opts.nullable) return null;
      return toInstance(cls(), raw);
    },
    { toClassOnly: true },
  );
  const nested = ValidateNested();
  return (target: object, property: string | symbol) => {
    transform(target, property as string);
    nested(target, property);
  };
}

/** An array of nested objects; `pick` chooses the class per element, or builds the instance itself. */
export function NestedList(pick: (item: Record<string, unknown>) => Ctor | object): PropertyDecorator {
  const transform = Transform(
    ({ obj, key }) => {
      const raw = (obj as Record<string, unknown>)[key];
      if (raw === undefined) return undefined;
      if (!Array.isArray(raw)) return InvalidValue.of(`must be an array (got ${describeValue(raw)})`);
      return raw.map((item) => {
        if (!isPlainObject(item)) return InvalidValue.of(`must be an object (got ${describeValue(item)})`);
        const cls = pick(item);
        return typeof cls === 'function' ? plainToInstance(cls as Ctor, item) : cls;
      });
    },
    { toClassOnly: true },
  );
  const nested = ValidateNested({ each: true });
  return (target: object, property: string | symbol) => {
    transform(target, property as string);
    nested(target, property);
  };
}
