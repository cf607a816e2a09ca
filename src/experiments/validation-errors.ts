// Turns class-validator's error tree into flat { path, message } pairs with dotted paths and [i]
// indexes, the form every API answer and golden file uses.
import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync, type ValidationError } from 'class-validator';
import { isPlainObject } from './deep-merge.js';
import { closest } from './spec-paths.js';
import type { FieldError } from './types.js';
import { SELF_PROPERTY, describeValue } from './validators.js';

export function joinPath(prefix: string, key: string | number): string {
  if (typeof key === 'number' || /^\d+$/.test(key)) return `${prefix}[${key}]`;
  return prefix ? `${prefix}.${key}` : key;
}

const allowedCache = new Map<Function, string[]>();

export function allowedFields(ctor: Function): string[] {
  let fields = allowedCache.get(ctor);
  if (!fields) {
    const metas = getMetadataStorage().getTargetValidationMetadatas(ctor, '', true, false);
    fields = [...new Set(metas.map((m) => m.propertyName))].filter((p) => p !== SELF_PROPERTY && !p.startsWith('_'));
    allowedCache.set(ctor, fields);
  }
  return fields;
}

export function unknownFieldMessage(key: string, allowed: string[]): string {
  const hint = closest(key, allowed, 2);
  return hint ? `unknown field; did you mean "${hint}"?` : `unknown field (allowed: ${allowed.join(', ')})`;
}

export function flattenValidationErrors(errors: ValidationError[], prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const error of errors) {
    const path = error.property === SELF_PROPERTY ? prefix : joinPath(prefix, error.property);
    const constraints = Object.entries(error.constraints ?? {});
    for (const [name, message] of constraints) {
      if (name === 'nestedValidation' && constraints.length > 1) continue;
      if (name === 'whitelistValidation') {
        const ctor = (error.target as object | undefined)?.constructor;
        out.push({ path, message: ctor ? unknownFieldMessage(error.property, allowedFields(ctor)) : 'unknown field' });
        continue;
      }
      for (const line of message.split('\n')) {
        // "[2] must be ..." names an element of the array at `path`.
        const m = /^((?:\[\d+\])+) (.*)$/s.exec(line);
        out.push(m ? { path: path + m[1], message: m[2] } : { path, message: line });
      }
    }
    if (error.children?.length) out.push(...flattenValidationErrors(error.children, path));
  }
  return out;
}

/** Validates a plain object against a DTO class; errors carry `prefix` in front of their paths. */
export function validateAs<T extends object>(cls: new () => T, plain: unknown, prefix = ''): FieldError[] {
  if (!isPlainObject(plain)) return [{ path: prefix, message: `must be an object (got ${describeValue(plain)})` }];
  const instance = plainToInstance(cls, plain);
  const errors = validateSync(instance, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    validationError: { target: true, value: true },
  });
  return flattenValidationErrors(errors, prefix);
}
