// What `watch` prints per epoch, from the run's live events. Trainers send points inside an epoch
// too (so curves move); an epoch is complete when its `epoch_seconds` point arrives (the trainer sends
// it last), and the line then carries the epoch's last value of each key. Evaluations may arrive
// before or after that point (catch-up replays a whole batch at once), so F1 is kept per epoch.
import type { EvaluationView } from '../contracts/api.js';
import type { MetricPoint } from '../contracts/wire.js';
import { duration, pct } from './format.js';

interface EpochValues {
  values: Map<string, { step: number; order: number; value: number }>;
  printed: boolean;
}

export class EpochLines {
  private readonly epochs = new Map<number, EpochValues>();
  private readonly f1 = new Map<number, number>();
  private order = 0;

  constructor(private readonly totalEpochs: number | null = null) {}

  /** Records points; returns the lines of epochs completed by them, in epoch order. */
  addPoints(points: readonly MetricPoint[]): string[] {
    const completed = new Set<number>();
    for (const p of points) {
      if (!p || typeof p.key !== 'string' || !Number.isFinite(p.epoch) || !Number.isFinite(p.value)) continue;
      const e = this.epoch(p.epoch);
      const prev = e.values.get(p.key);
      // The latest point of an epoch wins; a replayed older step never overwrites a newer one.
      if (!prev || p.step >= prev.step) e.values.set(p.key, { step: p.step, order: this.order++, value: p.value });
      if (p.key === 'epoch_seconds') completed.add(p.epoch);
    }
    return this.linesFor(completed);
  }

  /** Records an evaluation's macro F1; prints nothing by itself (the epoch line carries it). */
  addEvaluation(e: Pick<EvaluationView, 'epoch' | 'measures'>): string[] {
    const f1 = e?.measures?.macro?.f1;
    if (Number.isFinite(e?.epoch) && typeof f1 === 'number' && Number.isFinite(f1)) this.f1.set(e.epoch, f1);
    return [];
  }

  printedEpochs(): number[] {
    return [...this.epochs.entries()].filter(([, v]) => v.printed).map(([k]) => k).sort((a, b) => a - b);
  }

  private epoch(n: number): EpochValues {
    let e = this.epochs.get(n);
    if (!e) this.epochs.set(n, (e = { values: new Map(), printed: false }));
    return e;
  }

  private linesFor(epochs: Set<number>): string[] {
    const out: string[] = [];
    for (const n of [...epochs].sort((a, b) => a - b)) {
      const e = this.epochs.get(n);
      if (!e || e.printed) continue;
      e.printed = true;
      out.push(this.format(n, e));
    }
    return out;
  }

  private format(n: number, e: EpochValues): string {
    const v = (k: string) => e.values.get(k)?.value ?? null;
    const parts = [`epoch ${n}${this.totalEpochs ? `/${this.totalEpochs}` : ''}`];
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
