// `--set optim.lr=3e-4`: dotted RunSpec path = value, where the value is read as a YAML scalar or
// flow collection (3e-4 -> 0.0003, true, null, [a100, nvlink], {kernel: 5, stride: 1, padding: 2}),
// so numbers and booleans arrive typed; anything that does not parse stays a string.
import YAML from 'yaml';

export class SetArgumentError extends Error {}

const PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

export function parseSetValue(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === '') return '';
  try {
    const doc = YAML.parseDocument(trimmed, { strict: true, uniqueKeys: true });
    if (doc.errors.length) return text;
    return doc.toJS({ maxAliasCount: 0 });
  } catch {
    return text;
  }
}

/** Parses every `PATH=VALUE`; a path given twice is an error (which one was meant?). */
export function parseSetArguments(args: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new SetArgumentError(`--set ${arg}: expected PATH=VALUE, e.g. --set optim.lr=3e-4`);
    const path = arg.slice(0, eq).trim();
    if (!PATH.test(path)) throw new SetArgumentError(`--set ${arg}: "${path}" is not a dotted path like optim.lr`);
    if (Object.prototype.hasOwnProperty.call(out, path)) throw new SetArgumentError(`--set ${path} is given twice`);
    out[path] = parseSetValue(arg.slice(eq + 1));
  }
  return out;
}
