// Stores what workers report, exactly once, then acknowledges it and fans it out.
//
// Messages are micro-batched: everything that arrived while the previous transaction was running is
// written in the next one (multi-row inserts), which is what makes 200k points/s possible on SQLite
// without blocking the event loop for long. A message is acknowledged only after its transaction has
// committed, so a crash between receive and commit loses nothing: the worker replays it.
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { WorkerCommands } from '../bridge/worker-commands.service.js';
import { AppConfig } from '../config/app-config.js';
import type { RunStatus } from '../contracts/api.js';
import type {
  CheckpointContent,
  EvaluationContent,
  FinishedContent,
  LogContent,
  Message,
  MetricsContent,
  StartedContent,
} from '../contracts/wire.js';
import { HostsService } from '../hosts/hosts.service.js';
import { LiveService } from '../live/live.service.js';
import { RunsService } from '../runs/runs.service.js';
import type { RunEntity } from '../storage/entities.js';
import { MetricsRepository, type StoredPoint } from '../storage/metrics.repository.js';
import { RunsRepository } from '../storage/runs.repository.js';
import { measuresFromConfusion } from './classification.js';
import { confusionMatrixIssues } from './matrix-validation.js';
import { toEvaluationView } from './evaluation.view.js';
import type { EvaluationEntity } from '../storage/entities.js';

interface Incoming {
  peer: Buffer;
  hostId: string;
  msg: Message;
  /** Content failed validation: recorded (so acks stay contiguous) but not applied. */
  invalid?: string;
}

interface Contiguity {
  last: number;
  above: Set<number>;
}

/** Metric keys whose latest value is kept on the run row for tables. */
const SUMMARY_KEYS = ['train_loss', 'train_acc', 'test_acc', 'epoch_seconds', 'images_per_s'] as const;
const MAX_BATCH_MESSAGES = 2000;
const MAX_RETRIES = 5;
/** Bounds one transaction, and so the longest time the event loop is held by a synchronous driver. */
const MAX_BATCH_POINTS = 10000;

export interface IngestStats {
  messages: number;
  points: number;
  duplicates: number;
  stale: number;
  invalid: number;
  batches: number;
  failures: number;
}

@Injectable()
export class IngestService {
  private readonly log = new Logger('Ingest');
  private queue: Incoming[] = [];
  private flushing: Promise<void> | null = null;
  private scheduled = false;
  /**
   * Per run: the contiguous stored seq and the stored seqs above it. A cache of what the database holds
   * (runs.last_seq, run_messages), kept in least-recently-used order and trimmed to
   * config.ingestCachedRuns after each batch, when no store is using an entry.
   */
  private readonly contiguity = new Map<string, Contiguity>();
  readonly stats: IngestStats = { messages: 0, points: 0, duplicates: 0, stale: 0, invalid: 0, batches: 0, failures: 0 };

  constructor(
    private readonly metrics: MetricsRepository,
    private readonly runsRepo: RunsRepository,
    private readonly runs: RunsService,
    private readonly commands: WorkerCommands,
    private readonly live: LiveService,
    private readonly hosts: HostsService,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  enqueue(peer: Buffer, hostId: string, msg: Message, invalid?: string): void {
    this.queue.push({ peer, hostId, msg, invalid });
    this.schedule();
  }

  /** Highest contiguous stored seq of a run (what `welcome` acks after a worker reconnects). */
  async ackPoint(runId: string): Promise<number> {
    return (await this.loadContiguity(runId)).last;
  }

  /** Resolves when everything enqueued so far is stored. */
  async drain(): Promise<void> {
    while ((this.flushing || this.queue.length || this.scheduled) && !this.paused) {
      if (this.flushing) await this.flushing;
      else await new Promise((r) => setImmediate(r));
    }
  }

  private paused = false;

  private schedule(): void {
    if (this.scheduled || this.flushing || this.paused) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flushing = this.flush().finally(() => {
        this.flushing = null;
        if (this.queue.length) this.schedule();
      });
    });
  }

  private consecutiveFailures = 0;
  private retryTimer: NodeJS.Timeout | null = null;

  private async flush(): Promise<void> {
    let n = 0;
    let points = 0;
    while (n < this.queue.length && n < MAX_BATCH_MESSAGES && points < MAX_BATCH_POINTS) {
      const m = this.queue[n++].msg;
      if (m.header.type === 'metrics' && Array.isArray((m.content as MetricsContent).points)) points += (m.content as MetricsContent).points.length;
    }
    const batch = this.queue.splice(0, n);
    if (!batch.length) return;
    this.stats.batches++;
    try {
      await this.store(batch);
      this.consecutiveFailures = 0;
      this.trimContiguity();
    } catch (e) {
      this.stats.failures++;
      this.consecutiveFailures++;
      this.log.error(`storing ${batch.length} message(s) failed (${this.consecutiveFailures} in a row): ${(e as Error).stack ?? e}`);
      // Not acknowledged, so nothing is lost either way: retry a few times with backoff (a busy or
      // restarting database), then leave the messages to the worker's spool, which replays them.
      if (this.consecutiveFailures <= MAX_RETRIES) {
        this.queue.unshift(...batch);
        this.paused = true;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.paused = false;
          this.schedule();
        }, 250 * 2 ** this.consecutiveFailures);
        this.retryTimer.unref?.();
      }
    }
  }

  /**
   * A run about to start a new attempt: its seqs above the contiguous point that never arrived (a gap
   * left by the previous attempt's host) are recorded as abandoned, so that acks are contiguous again
   * and the new attempt can start right after the highest seq ever stored. Returns that first seq.
   */
  async sealForNewAttempt(runId: string): Promise<number> {
    await this.drain();
    const c = await this.loadContiguity(runId);
    const highest = Math.max(c.last, ...c.above);
    if (highest > c.last) {
      const missing: number[] = [];
      for (let s = c.last + 1; s < highest; s++) if (!c.above.has(s)) missing.push(s);
      await this.metrics.transaction(async (m) => {
        await this.metrics.insertReceipts(m, missing.map((seq) => ({ run_id: runId, seq, type: 'abandoned' })));
        await this.runsRepo.update(runId, { last_seq: highest }, m);
      });
      c.last = highest;
      c.above.clear();
      // Trimmed and re-read while the transaction ran: that copy predates the commit, read it again.
      if (this.contiguity.get(runId) !== c) this.contiguity.delete(runId);
    }
    return c.last + 1;
  }

  private async store(batch: Incoming[]): Promise<void> {
    const runIds = [...new Set(batch.map((b) => b.msg.header.run_id as string))];
    const runs = new Map((await this.runsRepo.findRuns(runIds)).map((r) => [r.id, r]));
    for (const id of runs.keys()) await this.loadContiguity(id);

    // Decide per message: store, duplicate (ack again), or drop (unknown run / not its current host).
    const toStore = new Map<string, Incoming[]>();
    const ackTo = new Map<string, Buffer>();
    const seen = new Set<string>();
    for (const item of batch) {
      const { run_id: runId, seq } = item.msg.header as { run_id: string; seq: number };
      const run = runs.get(runId);
      if (!run || run.host_id !== item.hostId) {
        // A stale worker (its run was reassigned) or a run this database never had: storing would mix
        // attempts; acking lets the worker clear its spool.
        this.stats.stale++;
        this.commands.ack(item.peer, runId, seq);
        continue;
      }
      ackTo.set(runId, item.peer);
      const c = this.contiguity.get(runId) as Contiguity;
      const key = `${runId}:${seq}`;
      if (seq <= c.last || c.above.has(seq) || seen.has(key)) {
        this.stats.duplicates++;
        continue;
      }
      seen.add(key);
      const list = toStore.get(runId) ?? [];
      list.push(item);
      toStore.set(runId, list);
    }

    const lifecycle: RunEntity[] = [];
    // Live fan-out after commit, in each run's seq order (points, evaluations and log lines interleaved
    // as they were sent), so dashboards never see an evaluation before the points that preceded it.
    const liveOps: (() => void)[] = [];
    const summaryChanged = new Set<string>();

    if (toStore.size) {
      await this.metrics.transaction(async (m) => {
        for (const [runId, items] of toStore) {
          items.sort((a, b) => (a.msg.header.seq as number) - (b.msg.header.seq as number));
          let run = runs.get(runId) as RunEntity;
          // A dedupe check against the table guards against another orchestrator process or a
          // contiguity cache that lags the database.
          const existing = await this.metrics.existingSeqs(m, runId, items.map((i) => i.msg.header.seq as number));
          const fresh = items.filter((i) => !existing.has(i.msg.header.seq as number));
          this.stats.duplicates += items.length - fresh.length;
          if (!fresh.length) continue;
          await this.metrics.insertReceipts(
            m,
            fresh.map((i) => ({ run_id: runId, seq: i.msg.header.seq as number, type: i.invalid ? 'invalid' : i.msg.header.type })),
          );

          const points: StoredPoint[] = [];
          const last: Record<string, number | null> = { ...run.last };
          let epochs = run.epochs_completed;
          const patch: Partial<RunEntity> = {};
          for (const item of fresh) {
            const seq = item.msg.header.seq as number;
            const type = item.msg.header.type;
            this.stats.messages++;
            if (item.invalid) {
              this.stats.invalid++;
              continue;
            }
            if (type === 'metrics') {
              const pts = (item.msg.content as MetricsContent).points;
              const stored = pts.map((p) => ({ seq, key: p.key, step: p.step, epoch: p.epoch, value: p.value, wall_time: p.wall_time }));
              for (const p of stored) {
                points.push(p);
                if ((SUMMARY_KEYS as readonly string[]).includes(p.key)) last[p.key] = p.value;
              }
              liveOps.push(() => this.live.metrics(runId, seq, stored));
            } else if (type === 'evaluation') {
              const ev = item.msg.content as EvaluationContent;
              const issues = confusionMatrixIssues(ev.matrix, ev.class_names);
              if (issues.length) {
                this.stats.invalid++;
                this.log.warn(`run ${runId} seq ${seq}: evaluation ignored: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`);
                continue;
              }
              const measures = measuresFromConfusion(ev.matrix, ev.class_names);
              const row = {
                run_id: runId,
                seq,
                epoch: ev.epoch,
                class_names: ev.class_names,
                matrix: ev.matrix,
                misclassified: ev.misclassified,
                loss: ev.loss,
                samples: ev.samples,
                measures: measures as unknown as Record<string, unknown>,
                created_at: Date.now(),
              };
              await this.metrics.insertEvaluation(m, row);
              liveOps.push(() => this.live.evaluation(toEvaluationView(row as EvaluationEntity)));
              last.macro_f1 = measures.macro.f1;
              last.test_acc = measures.accuracy;
              epochs = Math.max(epochs, ev.epoch);
            } else if (type === 'log') {
              const l = item.msg.content as LogContent;
              await this.metrics.insertLogs(m, [{ run_id: runId, seq, level: l.level, message: l.message, created_at: Date.now() }]);
              liveOps.push(() => this.live.logLine(runId, seq, l.level, l.message));
            } else if (type === 'checkpoint') {
              const c = item.msg.content as CheckpointContent;
              await this.metrics.insertCheckpoint(m, { run_id: runId, seq, epoch: c.epoch, path: c.path, bytes: c.bytes, final: c.final, host_id: item.hostId, created_at: Date.now() });
              patch.checkpoint_path = c.path;
              patch.checkpoint_host = item.hostId;
            } else if (type === 'started') {
              const s = item.msg.content as StartedContent;
              const moved = await this.runsRepo.transition(runId, 'assigned', 'running', `running on ${this.hosts.nameOf(item.hostId)} (${s.device}), pid ${s.pid}`, { started_at: run.started_at ?? Date.now() }, m);
              if (moved) {
                run = moved;
                lifecycle.push(moved);
              }
            } else if (type === 'finished') {
              const f = item.msg.content as FinishedContent;
              // An interrupted run (its agent died) is lost, not failed: it is requeued and resumes.
              const to: RunStatus = f.interrupted === true ? 'lost' : f.status;
              epochs = Math.max(epochs, f.epochs_completed);
              const reason = f.error ?? (to === 'succeeded' ? null : to);
              const moved = await this.runsRepo.transition(runId, ['running', 'assigned'], to, reason, to === 'lost' ? { epochs_completed: epochs } : { ended_at: Date.now(), epochs_completed: epochs }, m);
              if (moved) {
                run = moved;
                lifecycle.push(moved);
              }
            }
          }
          if (points.length) {
            await this.metrics.insertPoints(m, runId, points);
            this.stats.points += points.length;
          }
          const c = this.contiguity.get(runId) as Contiguity;
          let next = c.last;
          const stored = new Set(fresh.map((i) => i.msg.header.seq as number));
          while (stored.has(next + 1) || c.above.has(next + 1)) next++;
          patch.last_seq = next;
          patch.last = last;
          patch.epochs_completed = epochs;
          await this.runsRepo.update(runId, patch, m);
          summaryChanged.add(runId);
          Object.assign(run, patch);
          const lc = lifecycle.find((r) => r.id === runId);
          if (lc) Object.assign(lc, patch);
        }
      });
      // Committed: advance the in-memory contiguity only now.
      for (const [runId, items] of toStore) {
        const c = this.contiguity.get(runId) as Contiguity;
        for (const i of items) c.above.add(i.msg.header.seq as number);
        while (c.above.has(c.last + 1)) c.above.delete(++c.last);
      }
    }

    for (const [runId, peer] of ackTo) this.commands.ack(peer, runId, this.contiguity.get(runId)?.last ?? 0);
    for (const op of liveOps) op();
    const lifecycleIds = new Set(lifecycle.map((r) => r.id));
    for (const r of lifecycle) await this.runs.afterTransition(r);
    for (const id of summaryChanged) {
      if (lifecycleIds.has(id)) continue;
      const r = runs.get(id);
      if (r) await this.runs.publish(r);
    }
  }

  private trimContiguity(): void {
    const excess = this.contiguity.size - this.config.ingestCachedRuns;
    if (excess <= 0) return;
    let n = 0;
    for (const runId of this.contiguity.keys()) {
      if (n++ >= excess) break;
      this.contiguity.delete(runId); // Map order is insertion order: the least recently used come first
    }
  }

  get cachedRuns(): number {
    return this.contiguity.size;
  }

  private async loadContiguity(runId: string): Promise<Contiguity> {
    let c = this.contiguity.get(runId);
    if (c) {
      this.contiguity.delete(runId);
      this.contiguity.set(runId, c);
    } else {
      const last = await this.metrics.lastSeq(runId);
      const above = new Set(await this.metrics.seqsAbove(runId, last));
      c = { last, above };
      while (c.above.has(c.last + 1)) c.above.delete(++c.last);
      this.contiguity.set(runId, c);
    }
    return c;
  }
}
