// What `watch` prints per epoch, from the run's live events. Trainers send points inside an epoch
// too (so curves move); an epoch is complete when its `epoch_seconds` point arrives (the trainer sends
// it last), and its line carries the epoch's last value of each key. The epoch's evaluation (macro F1)
// can arrive just before or just after that point — the orchestrator publishes a batch's points before
// its evaluations, and catch-up replays a whole history at once — so a completed epoch that expects an
// evaluation is held until it arrives, later data shows it is not coming, or the caller flushes.
import type { EvaluationView } from '../contracts/api.js';
import type { MetricPoint } from '../contracts/wire.js';
import { duration, pct } from './format.js';

interface EpochValues {
  values: Map<string, { step: number; value: number }>;
  complete: boolean;
  printed: boolean;
}

export interface EpochPlan {
  /** The run's train.epochs (shown as "epoch 3/10"; the last epoch is always evaluated). */
  epochs: number | null;
  /** The run's train.eval_every: epochs whose number it divides are evaluated. */
  evalEvery: number | null;
}

export class EpochLines {
  private readonly epochs = new Map<number, EpochValues>();
  private readonly f1 = new Map<number, number>();
  private readonly evaluated = new Set<number>();

  constructor(private readonly plan: EpochPlan = { epochs: null, evalEvery: null }) {}

  /** Records points; returns the lines that became ready, in epoch order. */
  addPoints(points: readonly MetricPoint[]): string[] {
    let highest = -Infinity;
    for (const p of points) {
      if (!p || typeof p.key !== 'string' || !Number.isFinite(p.epoch) || !Number.isFinite(p.value) || !Number.isFinite(p.step)) continue;
      const e = this.epoch(p.epoch);
      const prev = e.values.get(p.key);
      // The latest step of an epoch wins; a replayed older step never overwrites a newer one.
      if (!prev || p.step >= prev.step) e.values.set(p.key, { step: p.step, value: p.value });
      if (p.key === 'epoch_seconds') e.complete = true;
      highest = Math.max(highest, p.epoch);
    }
    return this.ready(highest);
  }

  /** Records an evaluation's macro F1; returns the lines that became ready. */
  addEvaluation(e: Pick<EvaluationView, 'epoch' | 'measures'>): string[] {
    if (!e || !Number.isFinite(e.epoch)) return [];
    this.evaluated.add(e.epoch);
    const f1 = e.measures?.macro?.f1;
    if (typeof f1 === 'number' && Number.isFinite(f1)) this.f1.set(e.epoch, f1);
    return this.ready(e.epoch);
  }

  /** Every completed epoch not printed yet, evaluated or not (the run ended, or waiting took too long). */
  flush(): string[] {
    return this.ready(Infinity);
  }

  /** Whether a completed epoch is held back waiting for its evaluation. */
  holding(): boolean {
    return [...this.epochs.values()].some((e) => e.complete && !e.printed);
  }

  private expectsEvaluation(n: number): boolean {
    const { epochs, evalEvery } = this.plan;
    if (!evalEvery || evalEvery <= 1) return true;
    return n % evalEvery === 0 || n === epochs;
  }

  private epoch(n: number): EpochValues {
    let e = this.epochs.get(n);
    if (!e) this.epochs.set(n, (e = { values: new Map(), complete: false, printed: false }));
    return e;
  }

  /** Lines of completed epochs that may print now; data from epoch `seen` settles every earlier epoch. */
  private ready(seen: number): string[] {
    const out: string[] = [];
    for (const n of [...this.epochs.keys()].sort((a, b) => a - b)) {
      const e = this.epochs.get(n)!;
      if (!e.complete || e.printed) continue;
      const settled = !this.expectsEvaluation(n) || this.evaluated.has(n) || seen > n;
      if (!settled) break; // keep epoch order: later epochs wait behind this one
      e.printed = true;
      out.push(this.format(n, e));
    }
    return out;
  }

  private format(n: number, e: EpochValues): string {
    const v = (k: string) => e.values.get(k)?.value ?? null;
    const parts = [`epoch ${n}${this.plan.epochs ? `/${this.plan.epochs}` : ''}`];
    const add = (label: string, text: string) => {
      if (text) parts.push(`${label} ${text}`);
    };
    const loss = v('train_loss');
    add('train_loss', loss === null ? '' : loss.toFixed(4));
    add('train_acc', pct(v('train_acc')));
    add('test_acc', pct(v('test_acc')));
    const f1 = this.f1.get(n);
    add('macro_f1', f1 === undefined ? '' : f1.toFixed(4));
    add('time', duration(v('epoch_seconds')));
    const ips = v('images_per_s');
    add('images/s', ips === null ? '' : ips.toFixed(0));
    return parts.join('  ');
  }
}
