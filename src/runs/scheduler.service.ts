// Runs the pure placement function (scheduler.ts) whenever something changes — a run queued, a slot
// freed, a host joined — and turns its placements into assigned runs and `assign` messages.
import { Injectable, Logger } from '@nestjs/common';
import { WorkerCommands } from '../bridge/worker-commands.service.js';
import { HostsService } from '../hosts/hosts.service.js';
import { RunsRepository } from '../storage/runs.repository.js';
import { RunPublisher } from './run-publisher.service.js';
import { schedule, type QueuedRun } from './scheduler.js';

@Injectable()
export class SchedulerService {
  private readonly log = new Logger('Scheduler');
  private pending = false;
  private running: Promise<void> | null = null;
  private again = false;
  /** Runs a worker just rejected are held back briefly so a confused worker cannot spin the loop. */
  private readonly notBefore = new Map<string, number>();
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  lastDecisionMs = 0;
  /**
   * The seq a new attempt starts at. IngestService owns seq bookkeeping and provides this at boot
   * (see Lifecycle); the default only serves tests that run the scheduler alone.
   */
  firstSeqOf: (runId: string, lastSeq: number) => Promise<number> = async (_id, lastSeq) => lastSeq + 1;

  constructor(
    private readonly repo: RunsRepository,
    private readonly hosts: HostsService,
    private readonly commands: WorkerCommands,
    private readonly publisher: RunPublisher,
  ) {}

  /** Coalesces bursts of triggers into one pass on the next tick. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.pending) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      this.running = this.pass()
        .catch((e: Error) => this.log.error(`scheduling pass failed: ${e.stack ?? e.message}`))
        .finally(() => {
          this.running = null;
          if (this.again) {
            this.again = false;
            this.kick();
          }
        });
    });
  }

  holdBack(runId: string, ms: number): void {
    this.notBefore.set(runId, Date.now() + ms);
    if (!this.retryTimer && !this.stopped) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.kick();
      }, ms + 10);
      this.retryTimer.unref?.();
    }
  }

  /** Assignments sent and not yet answered (accepted or rejected), by run: host and when. */
  private readonly unanswered = new Map<string, { hostId: string; at: number }>();

  answered(runId: string): void {
    this.unanswered.delete(runId);
  }

  /** Assignments older than `ms` that their worker never answered (the message or the worker got lost). */
  overdue(now: number, ms: number): { runId: string; hostId: string }[] {
    const out: { runId: string; hostId: string }[] = [];
    for (const [runId, a] of this.unanswered) {
      if (now - a.at > ms) {
        out.push({ runId, hostId: a.hostId });
        this.unanswered.delete(runId);
      }
    }
    return out;
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  private async pass(): Promise<void> {
    const queued = await this.repo.findByStatus(['queued']);
    if (!queued.length) {
      this.publisher.waitReasons.clear();
      return;
    }
    const now = Date.now();
    const eligible: QueuedRun[] = [];
    for (const r of queued) {
      const nb = this.notBefore.get(r.id);
      if (nb && nb > now) continue;
      this.notBefore.delete(r.id);
      eligible.push({ id: r.id, priority: r.priority, queued_at: r.queued_at, resources: r.spec.resources });
    }
    const t0 = performance.now();
    const { placements, waiting } = schedule(eligible, this.hosts.capacities());
    this.lastDecisionMs = performance.now() - t0;

    const byId = new Map(queued.map((r) => [r.id, r]));
    const changed: string[] = [];
    const previous = new Map(this.publisher.waitReasons);
    this.publisher.waitReasons.clear();
    for (const w of waiting) {
      const reason = w.unschedulable ? `unschedulable: ${w.reason}` : w.reason;
      this.publisher.waitReasons.set(w.run_id, reason);
      if (previous.get(w.run_id) !== reason) changed.push(w.run_id);
    }

    for (const p of placements) {
      const run = byId.get(p.run_id);
      if (!run) continue;
      const resume = run.checkpoint_host === p.host_id ? run.checkpoint_path : null;
      const updated = await this.repo.transition(run.id, 'queued', 'assigned', `assigned to ${this.hosts.nameOf(p.host_id)}`, {
        host_id: p.host_id,
        devices: p.devices,
        attempt: run.attempt + 1,
      });
      if (!updated) continue;
      this.hosts.occupy(run.id, p.host_id, p.devices, run.spec.resources);
      const firstSeq = await this.firstSeqOf(run.id, run.last_seq);
      const sent = this.commands.assign(p.host_id, {
        run_id: run.id,
        attempt: updated.attempt,
        spec: run.spec,
        devices: p.devices,
        resume_from: resume,
        first_seq: firstSeq,
      });
      if (!sent) {
        // The host vanished between the snapshot and now: put the run straight back.
        this.hosts.release(run.id);
        const back = await this.repo.transition(run.id, 'assigned', 'queued', 'host went away before assignment', { host_id: null, devices: [], attempt: run.attempt });
        if (back) await this.publisher.publish(back);
        continue;
      }
      this.unanswered.set(run.id, { hostId: p.host_id, at: Date.now() });
      await this.publisher.publish(updated);
    }
    // Publish queued runs whose reason to wait changed, so the queue view stays live.
    for (const id of changed) {
      const r = byId.get(id);
      if (r) await this.publisher.publish(r);
    }
  }
}
