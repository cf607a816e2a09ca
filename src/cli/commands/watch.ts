// watch ID: follows a run live over socket.io until it ends, printing status changes and one line
// per completed epoch. Subscribing with after_seq replays what was stored before (so a late watcher
// sees the earlier epochs too, and a reconnect loses nothing).
import type { ClientToServerEvents, EvaluationView, RunView, ServerToClientEvents } from '../../contracts/api.js';
import { TERMINAL_STATUSES } from '../../contracts/api.js';
import type { MetricPoint } from '../../contracts/wire.js';
import { CliError } from '../api-client.js';
import { UsageError, type CliContext, type CommandDef } from '../context.js';
import { EpochLines } from '../epoch-lines.js';
import { duration, num, pct } from '../format.js';
import { enc } from './shared.js';

type ClientSocket = import('socket.io-client').Socket<ServerToClientEvents, ClientToServerEvents>;

const HOLD_FOR_EVALUATION_MS = 2000;

function clock(): string {
  return new Date().toTimeString().slice(0, 8);
}

/** A status line changes when the status does, or the reason apart from the queue position. */
function statusKey(v: RunView): string {
  return `${v.status}|${(v.reason ?? '').replace(/; position \d+$/, '')}`;
}

async function loadSocketIo(): Promise<typeof import('socket.io-client')> {
  try {
    return await import('socket.io-client');
  } catch (e) {
    throw new CliError(`watch needs the socket.io-client package (npm install in the Trainyard folder): ${(e as Error).message}`);
  }
}

export async function watchRun(ctx: CliContext, id: string, opts: { timeoutS?: number; logs?: boolean }): Promise<number> {
  const first = await ctx.api.get<RunView>(`/runs/${enc(id)}`);
  ctx.out(`watching ${first.name} (${first.id}) of ${first.experiment_name}; Ctrl-C stops watching, not the run`);
  const { io } = await loadSocketIo();
  const base = new URL(ctx.api.baseUrl);
  const socket: ClientSocket = io(base.origin, {
    path: `${base.pathname.replace(/\/$/, '')}/socket.io`,
    transports: ['websocket'],
    reconnectionDelayMax: 5000,
  });
  const epochs = new EpochLines({ epochs: first.spec?.train?.epochs ?? null, evalEvery: first.spec?.train?.eval_every ?? null });
  let lastSeq = 0;
  let lastKey = '';

  return new Promise<number>((resolve) => {
    let done = false;
    let timer: NodeJS.Timeout | null = null;
    let holdTimer: NodeJS.Timeout | null = null;
    const print = (lines: string[]) => {
      for (const line of lines) ctx.out(`${clock()}  ${line}`);
      // An epoch held for its evaluation is printed without it if the evaluation does not follow soon.
      if (!epochs.holding()) {
        if (holdTimer) clearTimeout(holdTimer);
        holdTimer = null;
      } else if (!holdTimer && !done) {
        holdTimer = setTimeout(() => {
          holdTimer = null;
          print(epochs.flush());
        }, HOLD_FOR_EVALUATION_MS);
      }
    };
    const finish = (code: number) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      if (holdTimer) clearTimeout(holdTimer);
      ctx.io.signal?.removeEventListener('abort', onAbort);
      socket.close();
      resolve(code);
    };
    const onAbort = () => {
      ctx.out(`stopped watching; the run goes on (status: ${lastKey.split('|')[0] || first.status})`);
      finish(130);
    };
    if (ctx.io.signal?.aborted) return onAbort();
    ctx.io.signal?.addEventListener('abort', onAbort);
    if (opts.timeoutS) {
      timer = setTimeout(() => {
        ctx.err(`run ${id} has not ended after ${opts.timeoutS} s (status: ${lastKey.split('|')[0]})`);
        finish(1);
      }, opts.timeoutS * 1000);
    }

    const update = (v: RunView) => {
      if (done || v.id !== first.id) return;
      const key = statusKey(v);
      if (key !== lastKey) {
        lastKey = key;
        print(epochs.flush());
        ctx.out(`${clock()}  ${v.status}${v.reason ? `: ${v.reason}` : ''}`);
      }
      if (TERMINAL_STATUSES.includes(v.status)) {
        print(epochs.flush());
        const l = v.last;
        const summary = [
          `epochs ${v.epochs_completed}/${v.spec?.train?.epochs ?? '?'}`,
          l.test_acc != null ? `test_acc ${pct(l.test_acc)}` : '',
          l.macro_f1 != null ? `macro_f1 ${num(l.macro_f1, 4)}` : '',
          l.epoch_seconds != null ? `${duration(l.epoch_seconds)}/epoch` : '',
        ].filter(Boolean);
        ctx.out(`${v.name} ${v.status}: ${summary.join(', ')}`);
        finish(v.status === 'succeeded' ? 0 : 1);
      }
    };

    socket.on('run.update', update);
    socket.on('run.metrics', (e: { run_id: string; seq: number; points: MetricPoint[] }) => {
      if (e.run_id !== first.id) return;
      lastSeq = Math.max(lastSeq, e.seq);
      print(epochs.addPoints(e.points));
    });
    socket.on('run.evaluation', (e: EvaluationView) => {
      if (e.run_id !== first.id) return;
      lastSeq = Math.max(lastSeq, e.seq);
      print(epochs.addEvaluation(e));
    });
    socket.on('run.log', (e) => {
      if (e.run_id !== first.id) return;
      lastSeq = Math.max(lastSeq, e.seq);
      if (opts.logs || e.level === 'error' || e.level === 'warning') ctx.out(`${clock()}  [${e.level}] ${e.message}`);
    });
    socket.on('connect', () => {
      // after_seq: only what this watcher has not seen (everything on the first connect).
      socket.emit('subscribe', { run_id: first.id, after_seq: lastSeq }, (ack) => {
        if (done) return;
        if (!ack?.ok) {
          ctx.err(`cannot follow run ${id}: ${ack?.error ?? 'subscription refused'}`);
          finish(1);
          return;
        }
        // The run may have changed (or ended) before the subscription: ask once, then events carry on.
        ctx.api.get<RunView>(`/runs/${enc(first.id)}`).then(update, (e: Error) => {
          ctx.err(`cannot read run ${id}: ${e.message}`);
          finish(1);
        });
      });
    });
    socket.on('disconnect', (reason) => {
      if (!done && reason !== 'io client disconnect') ctx.err(`${clock()}  connection lost (${reason}); reconnecting`);
    });
    let warned = false;
    socket.on('connect_error', (e) => {
      if (!done && !warned) {
        warned = true;
        ctx.err(`${clock()}  cannot connect to ${ctx.api.baseUrl} (${e.message}); retrying`);
      }
    });
  });
}

const watch: CommandDef = {
  name: 'watch',
  args: 'ID',
  summary: 'follow a run live until it ends: status changes and each epoch\'s metrics',
  options: { timeout: { type: 'string' }, logs: { type: 'boolean' } },
  help: [
    '--timeout S   give up (exit 1) if the run has not ended after S seconds',
    '--logs        also print the trainer\'s log lines (warnings and errors are always printed)',
    'Exit status: 0 when the run succeeded, 1 when it ended otherwise (failed, cancelled, skipped).',
  ],
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, [id], opts) {
    let timeoutS: number | undefined;
    if (opts.timeout !== undefined) {
      timeoutS = Number(opts.timeout);
      if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new UsageError(`--timeout must be a number of seconds > 0 (got "${String(opts.timeout)}")`);
    }
    return watchRun(ctx, id, { timeoutS, logs: opts.logs === true });
  },
};

export const WATCH_COMMANDS: CommandDef[] = [watch];
