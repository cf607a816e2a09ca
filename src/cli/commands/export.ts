// export runs / export history: the server's CSV and JSON downloads, to a file or stdout.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CliError } from '../api-client.js';
import { UsageError, type CliContext, type CommandDef, type OptionValues } from '../context.js';
import { enc } from './shared.js';

const FORMATS = ['csv', 'json'];

function format(opts: OptionValues): 'csv' | 'json' {
  const f = (opts.format as string | undefined) ?? 'csv';
  if (!FORMATS.includes(f)) throw new UsageError(`--format must be csv or json (got "${f}")`);
  return f as 'csv' | 'json';
}

function deliver(ctx: CliContext, text: string, fmt: 'csv' | 'json', output: string | undefined, what: string): number {
  if (!output || output === '-') {
    ctx.io.write(text.endsWith('\n') || !text ? text : `${text}\n`);
    return 0;
  }
  try {
    writeFileSync(resolve(ctx.io.cwd, output), text);
  } catch (e) {
    throw new CliError(`cannot write ${output}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const count = fmt === 'csv' ? Math.max(0, csvRecords(text) - 1) : countJson(text);
  ctx.out(`wrote ${output} (${count === null ? 'JSON' : `${count} ${what}`})`);
  return 0;
}

/** Records in CSV text: newlines inside quoted fields do not end a record. */
export function csvRecords(text: string): number {
  let records = 0;
  let quoted = false;
  let empty = true;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (ch === '\n' && !quoted) {
      if (!empty) records++;
      empty = true;
    } else if (ch !== '\r') empty = false;
  }
  return empty ? records : records + 1;
}

function countJson(text: string): number | null {
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v.length : null;
  } catch {
    return null;
  }
}

const OUTPUT = { format: { type: 'string' }, output: { type: 'string', short: 'o' } } as const;
const OUTPUT_HELP = ['--format csv|json   default csv', '-o, --output FILE   write to FILE instead of stdout'];

const exportRuns: CommandDef = {
  name: 'export runs',
  args: '',
  summary: 'the runs table (spec flattened into columns, latest values) as CSV or JSON',
  options: { ...OUTPUT, experiment: { type: 'string' }, ids: { type: 'string' } },
  help: [...OUTPUT_HELP, '--experiment ID     only runs of this experiment', '--ids A,B,...       only these runs'],
  minArgs: 0,
  maxArgs: 0,
  async run(ctx, _args, opts) {
    const fmt = format(opts);
    const res = await ctx.api.text(`/export/runs.${fmt}`, { experiment_id: opts.experiment as string | undefined, ids: opts.ids as string | undefined });
    return deliver(ctx, res.text, fmt, opts.output as string | undefined, 'runs');
  },
};

const exportHistory: CommandDef = {
  name: 'export history',
  args: 'RUN_ID',
  summary: "a run's full metric history (every point) as CSV or JSON",
  options: OUTPUT,
  help: OUTPUT_HELP,
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, [id], opts) {
    const fmt = format(opts);
    const res = await ctx.api.text(`/export/runs/${enc(id)}/history.${fmt}`);
    return deliver(ctx, res.text, fmt, opts.output as string | undefined, 'points');
  },
};

export const EXPORT_COMMANDS: CommandDef[] = [exportRuns, exportHistory];
