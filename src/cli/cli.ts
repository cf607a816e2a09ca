// The Trainyard command line: `npm run cli -- <command> [args] [options]`. Talks REST (and socket.io
// for `watch`) to the orchestrator at TRAINYARD_URL (default http://127.0.0.1:3000).
// Exit status: 0 success, 1 failure (refused request, unreachable server, run did not succeed),
// 2 usage error.
import { parseArgs } from 'node:util';
import { closest } from '../experiments/spec-paths.js';
import { ApiClient, ApiError, CliError, DEFAULT_URL } from './api-client.js';
import { UsageError, type CliContext, type CliIO, type CommandDef, type OptionValues, type ParseArgsOptionsConfig } from './context.js';
import { CLUSTER_COMMANDS } from './commands/cluster.js';
import { COMPARE_COMMANDS } from './commands/compare.js';
import { EXPERIMENT_COMMANDS } from './commands/experiments.js';
import { EXPORT_COMMANDS } from './commands/export.js';
import { RUN_COMMANDS } from './commands/runs.js';
import { WATCH_COMMANDS } from './commands/watch.js';

export const COMMANDS: readonly CommandDef[] = [
  ...EXPERIMENT_COMMANDS.filter((c) => c.name.startsWith('experiments ')),
  ...EXPERIMENT_COMMANDS.filter((c) => c.name === 'presets' || c.name === 'launch'),
  ...RUN_COMMANDS,
  ...EXPERIMENT_COMMANDS.filter((c) => c.name === 'clone'),
  ...WATCH_COMMANDS,
  ...CLUSTER_COMMANDS,
  ...COMPARE_COMMANDS,
  ...EXPORT_COMMANDS,
];

/** Commands with a second word: `experiments create`, `export runs`. */
const GROUPS = new Set(COMMANDS.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]));

const GLOBAL_OPTIONS: ParseArgsOptionsConfig = {
  url: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => `${c.name} ${c.args}`.trim().length));
  return [
    'usage: npm run cli -- <command> [arguments] [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${`${c.name} ${c.args}`.trim().padEnd(width)}  ${c.summary}`),
    '',
    'options for every command:',
    `  --url URL    the orchestrator (default: TRAINYARD_URL or ${DEFAULT_URL})`,
    '  --json       print the API\'s answer as JSON (commands that show data)',
    '  -h, --help   help for a command: npm run cli -- runs --help',
    '',
    'exit status: 0 success, 1 failure (refused request, unreachable server, run did not succeed), 2 usage error',
  ].join('\n');
}

export function commandUsage(c: CommandDef): string {
  const opts = Object.keys(c.options ?? {}).length ? ' [options]' : '';
  return [`usage: npm run cli -- ${c.name}${c.args ? ` ${c.args}` : ''}${opts}`, `  ${c.summary}`, ...(c.help ?? []).map((h) => `  ${h}`)].join('\n');
}

function findCommand(argv: string[]): { command: CommandDef; rest: string[] } {
  const [first, second] = argv;
  if (GROUPS.has(first)) {
    const command = COMMANDS.find((c) => c.name === `${first} ${second}`);
    if (!command) {
      const subs = COMMANDS.filter((c) => c.name.startsWith(`${first} `)).map((c) => c.name.split(' ')[1]);
      const what = second === undefined || second.startsWith('-') ? 'missing subcommand' : `unknown subcommand "${second}"`;
      throw new UsageError(`${first}: ${what}; choose one of: ${subs.join(', ')}`);
    }
    return { command, rest: argv.slice(2) };
  }
  const command = COMMANDS.find((c) => c.name === first);
  if (!command) {
    const near = closest(first, [...new Set(COMMANDS.map((c) => c.name.split(' ')[0]))], 2);
    throw new UsageError(`unknown command "${first}"${near ? `; did you mean "${near}"?` : ''}`);
  }
  return { command, rest: argv.slice(1) };
}

function parseCommandLine(command: CommandDef, rest: string[]): { args: string[]; opts: OptionValues } {
  const options: ParseArgsOptionsConfig = { ...GLOBAL_OPTIONS, ...(command.options ?? {}) };
  if (command.json) options.json = { type: 'boolean' };
  let parsed: { values: OptionValues; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true }) as { values: OptionValues; positionals: string[] };
  } catch (e) {
    // parseArgs' messages are good but mention its own API ("To specify a positional argument...").
    throw new UsageError((e as Error).message.split('. To specify')[0]);
  }
  if (parsed.values.help) return { args: [], opts: parsed.values };
  const n = parsed.positionals.length;
  if (n < command.minArgs) throw new UsageError(`${command.name}: missing ${command.args.split(' ').slice(n).filter((a) => !a.startsWith('[')).join(' ') || 'arguments'}`);
  if (n > command.maxArgs) throw new UsageError(`${command.name}: unexpected argument "${parsed.positionals[command.maxArgs]}"`);
  return { args: parsed.positionals, opts: parsed.values };
}

export function processIO(signal?: AbortSignal): CliIO {
  return {
    write: (t) => void process.stdout.write(t),
    writeErr: (t) => void process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    signal,
  };
}

/** Runs one command line and returns the exit status; never throws. */
export async function runCli(argv: string[], io: CliIO = processIO()): Promise<number> {
  const err = (line: string) => io.writeErr(`${line}\n`);
  if (!argv.length || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    const topic = argv[0] === 'help' && argv[1] ? COMMANDS.find((c) => c.name === argv.slice(1, 3).join(' ') || c.name === argv[1]) : undefined;
    io.write(`${topic ? commandUsage(topic) : usage()}\n`);
    return argv.length ? 0 : 2;
  }
  let command: CommandDef | undefined;
  try {
    const found = findCommand(argv);
    command = found.command;
    const { args, opts } = parseCommandLine(command, found.rest);
    if (opts.help) {
      io.write(`${commandUsage(command)}\n`);
      return 0;
    }
    const api = new ApiClient((opts.url as string | undefined) ?? io.env.TRAINYARD_URL ?? DEFAULT_URL, io.fetch);
    const ctx: CliContext = { api, io, json: opts.json === true, out: (line = '') => io.write(`${line}\n`), err };
    return await command.run(ctx, args, opts);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`error: ${e.message}`);
      err(command ? commandUsage(command) : 'run "npm run cli -- help" for the list of commands');
      return 2;
    }
    if (e instanceof ApiError) {
      err(`error: ${e.errors.length ? `the request was refused (HTTP ${e.status}):` : `${e.message} (HTTP ${e.status})`}`);
      for (const issue of e.errors) err(`  ${issue.path || '(body)'}: ${issue.message}`);
      return 1;
    }
    if (e instanceof CliError) {
      err(`error: ${e.message}`);
      return 1;
    }
    err(`error: unexpected failure: ${(e as Error)?.stack ?? String(e)}`);
    return 1;
  }
}
