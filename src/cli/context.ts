// What every command gets: the REST client, output streams, and the caller's environment.
import type { ParseArgsConfig } from 'node:util';
import type { ApiClient, Fetch } from './api-client.js';

export type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

export interface CliIO {
  /** Writes text to stdout as it is (commands add their own newlines). */
  write(text: string): void;
  /** Writes text to stderr as it is. */
  writeErr(text: string): void;
  env: Record<string, string | undefined>;
  cwd: string;
  fetch?: Fetch;
  /** Aborted on Ctrl-C: long-running commands (watch) stop and clean up. */
  signal?: AbortSignal;
}

export interface CliContext {
  api: ApiClient;
  io: CliIO;
  /** Prints the answer as JSON instead of a table. */
  json: boolean;
  out(line?: string): void;
  err(line: string): void;
}

/** Wrong command line: the CLI prints the message and the command's usage, and exits 2. */
export class UsageError extends Error {}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface CommandDef {
  /** "runs", "experiments create", ... */
  name: string;
  /** Positional arguments for the usage line, e.g. "FILE" or "ID [ID...]". */
  args: string;
  summary: string;
  /** Extra lines of help (option descriptions, examples). */
  help?: string[];
  options?: ParseArgsOptionsConfig;
  minArgs: number;
  maxArgs: number;
  /** Whether --json is accepted. */
  json?: boolean;
  run(ctx: CliContext, args: string[], opts: OptionValues): Promise<number>;
}

export function printJson(ctx: CliContext, value: unknown): void {
  ctx.out(JSON.stringify(value, null, 2));
}
