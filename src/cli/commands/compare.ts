// compare ID ID ...: final and best values, cost, ranks, and the notebook's two questions (do
// accuracy and macro F1 disagree; is one run both cheaper and better than another).
import type { CompareResponse } from '../../metrics/compare.js';
import { ApiError } from '../api-client.js';
import { printJson, type CommandDef } from '../context.js';
import { duration, num, pct, table } from '../format.js';
import { printRefusal } from './shared.js';

const compare: CommandDef = {
  name: 'compare',
  args: 'ID ID [ID...]',
  summary: 'compare runs: final/best test accuracy and macro F1, time per epoch, ranks',
  minArgs: 2,
  maxArgs: 50,
  json: true,
  async run(ctx, ids) {
    let res: CompareResponse;
    try {
      res = await ctx.api.post<CompareResponse>('/compare', { run_ids: ids });
    } catch (e) {
      if (e instanceof ApiError && e.status === 400) {
        printRefusal(ctx, e, 'compare');
        return 1;
      }
      throw e;
    }
    if (ctx.json) {
      printJson(ctx, res);
      return 0;
    }
    const name = new Map(res.runs.map((r) => [r.id, r.name]));
    ctx.out(
      table(res.runs, [
        { header: 'run', value: (r) => r.name, max: 32 },
        { header: 'status', value: (r) => r.status },
        { header: 'variant', value: (r) => r.variant, max: 60 },
        { header: 'epochs', value: (r) => String(r.epochs_evaluated), right: true },
        { header: 'test acc', value: (r) => pct(r.final.test_acc), right: true },
        { header: 'macro F1', value: (r) => num(r.final.macro_f1, 4), right: true },
        { header: 'best acc (epoch)', value: (r) => (r.best.test_acc ? `${pct(r.best.test_acc.value)} (${r.best.test_acc.epoch})` : ''), right: true },
        { header: 'train loss', value: (r) => num(r.final.train_loss, 4), right: true },
        { header: 's/epoch', value: (r) => duration(r.seconds_per_epoch), right: true },
        { header: 'images/s', value: (r) => num(r.images_per_s, 0), right: true },
        { header: 'rank acc/F1', value: (r) => `${r.rank.test_acc ?? '-'}/${r.rank.macro_f1 ?? '-'}`, right: true },
      ]),
    );
    for (const d of res.rank_disagreements) {
      ctx.out(
        `accuracy and macro F1 disagree: ${name.get(d.higher_accuracy)} has the higher test accuracy (${pct(d.test_acc[0])} vs ${pct(d.test_acc[1])}) ` +
          `but ${name.get(d.higher_macro_f1)} the higher macro F1 (${num(d.macro_f1[1], 4)} vs ${num(d.macro_f1[0], 4)})`,
      );
    }
    for (const d of res.dominates) {
      ctx.out(
        `${name.get(d.winner)} is cheaper and better than ${name.get(d.loser)}: ${duration(d.seconds_per_epoch[0])} vs ${duration(d.seconds_per_epoch[1])} per epoch, ` +
          `test accuracy ${pct(d.test_acc[0])} vs ${pct(d.test_acc[1])}`,
      );
    }
    for (const r of res.runs) for (const w of r.warnings) ctx.err(`warning: ${r.name}: ${w}`);
    ctx.out(`total: ${res.totals.gpu_hours.toFixed(2)} GPU hours, ${res.totals.cpu_hours.toFixed(2)} CPU hours`);
    return 0;
  },
};

export const COMPARE_COMMANDS: CommandDef[] = [compare];
