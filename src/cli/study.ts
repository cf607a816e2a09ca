// `npm start -- --study seed --profile smoke --exit-when-done`: launch a preset, show progress while
// it runs, print the results table, and return the exit code (0 when every run ended and none failed).
import type { INestApplication } from '@nestjs/common';
import type { RunView } from '../contracts/api.js';
import { TERMINAL_STATUSES } from '../contracts/api.js';
import { ExperimentsService } from '../experiments/experiments.service.js';
import { RunsService } from '../runs/runs.service.js';
import { formatResultsTable } from './results-table.js';

const STUDY_ALIASES: Record<string, string> = { seed: 'seed-study' };

export async function runStudy(app: INestApplication, opts: { study: string; profile: string; exitWhenDone: boolean }): Promise<number> {
  const experiments = app.get(ExperimentsService);
  const runs = app.get(RunsService);
  const preset = STUDY_ALIASES[opts.study] ?? opts.study;
  const { experiment, runs: created } = await experiments.launchPreset(preset, opts.profile);
  const out = process.stdout;
  out.write(`launched ${experiment.name} (${created.length} runs, profile ${opts.profile}), experiment ${experiment.id}\n`);
  if (!opts.exitWhenDone) return 0;

  const ids = created.map((r) => r.id);
  const seen = new Map<string, string>();
  for (;;) {
    const views = await Promise.all(ids.map((id) => runs.get(id)));
    for (const v of views) {
      const line = progressLine(v);
      if (seen.get(v.id) !== line) {
        seen.set(v.id, line);
        out.write(`${new Date().toISOString().slice(11, 19)}  ${line}\n`);
      }
    }
    if (views.every((v) => TERMINAL_STATUSES.includes(v.status))) {
      out.write('\n' + formatResultsTable(views) + '\n');
      const failed = views.filter((v) => v.status === 'failed');
      const skipped = views.filter((v) => v.status === 'skipped');
      for (const s of skipped) out.write(`skipped ${s.name}: ${s.reason}\n`);
      for (const f of failed) out.write(`FAILED ${f.name}: ${f.reason}\n`);
      return failed.length ? 1 : 0;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function progressLine(v: RunView): string {
  const p = v.progress;
  const prog = p && p.steps_per_epoch ? ` epoch ${p.epoch}/${v.spec.train.epochs} step ${p.step}/${p.steps_per_epoch}` : '';
  const acc = v.last.test_acc != null ? ` test_acc ${(v.last.test_acc * 100).toFixed(1)}%` : '';
  return `${v.name.padEnd(24)} ${v.status}${prog}${acc}${v.status === 'queued' && v.reason ? ` (${v.reason})` : ''}`;
}
