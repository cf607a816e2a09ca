// The run lifecycle: every status change goes through here (or through IngestService's transaction,
// which then calls afterTransition), so occupancy, live updates and scheduling stay consistent.
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { RunStatus, RunView } from '../contracts/api.js';
import { TERMINAL_STATUSES } from '../contracts/api.js';
import { AppConfig } from '../config/app-config.js';
import { WorkerCommands } from '../bridge/worker-commands.service.js';
import { HostsService } from '../hosts/hosts.service.js';
import type { RunEntity } from '../storage/entities.js';
import { RunsRepository, type RunFilter } from '../storage/runs.repository.js';
import { RunPublisher } from './run-publisher.service.js';
import { SchedulerService } from './scheduler.service.js';

export class RunNotFoundError extends Error {}
export class RunConflictError extends Error {}

const ACTIVE: RunStatus[] = ['assigned', 'running'];
const INTERRUPTED = 'interrupted by an orchestrator stop; resumes from its last checkpoint at the next start';

@Injectable()
export class RunsService {
  private readonly log = new Logger('Runs');
  private bootTimer: NodeJS.Timeout | null = null;
  private readonly cancelRequested = new Set<string>();

  constructor(
    @Inject(AppConfig) private readonly config: AppConfig,
    private readonly repo: RunsRepository,
    private readonly hosts: HostsService,
    private readonly commands: WorkerCommands,
    private readonly scheduler: SchedulerService,
    private readonly publisher: RunPublisher,
  ) {}

  /**
   * After a restart the orchestrator knows which runs were active but nobody is connected yet. Workers
   * get one liveness window plus a margin to say hello; runs whose host does not return are lost.
   */
  async boot(): Promise<void> {
    // Runs interrupted by the last shutdown resume now; this is not one of their restarts.
    for (const r of await this.repo.findByStatus(['lost'])) {
      const q = await this.repo.transition(r.id, 'lost', 'queued', `requeued at start after: ${r.reason}`, { host_id: null, devices: [] });
      if (q) await this.publisher.publish(q);
    }
    const active = await this.repo.findByStatus(ACTIVE);
    for (const r of active) if (r.host_id) this.hosts.occupy(r.id, r.host_id, r.devices, r.spec.resources);
    const grace = this.config.heartbeatMs * this.config.liveness + 2000;
    this.bootTimer = setTimeout(() => {
      this.bootTimer = null;
      void this.loseRunsOfAbsentHosts().catch((e: Error) => this.log.error(e.message));
    }, grace);
    this.bootTimer.unref?.();
    this.scheduler.kick();
  }

  stop(): void {
    if (this.bootTimer) clearTimeout(this.bootTimer);
  }

  async list(f: RunFilter): Promise<{ items: RunView[]; total: number }> {
    const { items, total } = await this.repo.listRuns(f);
    return { items: await this.publisher.views(items), total };
  }

  async get(id: string): Promise<RunView> {
    return this.publisher.view(await this.require(id));
  }

  async require(id: string): Promise<RunEntity> {
    const r = await this.repo.findRun(id);
    if (!r) throw new RunNotFoundError(`run ${id} not found`);
    return r;
  }

  /** Queued runs end at once; running ones are asked to stop and end when the worker confirms. */
  async cancel(id: string, reason = 'cancelled by user'): Promise<RunView> {
    const run = await this.require(id);
    if (TERMINAL_STATUSES.includes(run.status)) throw new RunConflictError(`run ${id} already ${run.status}`);
    if (run.status === 'queued' || run.status === 'lost' || !run.host_id || !this.hosts.isOnline(run.host_id)) {
      const done = await this.repo.transition(id, run.status, 'cancelled', reason, { ended_at: Date.now() });
      if (!done) return this.cancel(id, reason);
      await this.afterTransition(done);
      return this.publisher.view(done);
    }
    this.cancelRequested.add(id);
    this.commands.cancel(run.host_id, id, reason);
    await this.repo.update(id, { reason: `cancel requested: ${reason}` });
    const view = await this.publisher.view({ ...run, reason: `cancel requested: ${reason}` });
    await this.publisher.publish({ ...run, reason: `cancel requested: ${reason}` });
    return view;
  }

  /** Puts a lost run back in the queue by hand (restarts exhausted or not). */
  async requeue(id: string): Promise<RunView> {
    const run = await this.require(id);
    if (run.status !== 'lost') throw new RunConflictError(`only lost runs can be requeued; run ${id} is ${run.status}`);
    const q = await this.repo.transition(id, 'lost', 'queued', 'requeued by user', { host_id: null, devices: [] });
    if (q) await this.afterTransition(q);
    return this.get(id);
  }

  async onRejected(hostId: string, runId: string, reason: string): Promise<void> {
    const run = await this.repo.findRun(runId);
    if (!run || run.host_id !== hostId) return;
    const back = await this.repo.transition(runId, 'assigned', 'queued', `rejected by ${this.hosts.nameOf(hostId)}: ${reason}`, {
      host_id: null,
      devices: [],
      attempt: Math.max(0, run.attempt - 1),
    });
    if (!back) return;
    if (this.cancelRequested.has(runId)) {
      // Cancelled while the assignment was in flight: the rejection must not resurrect it.
      const done = await this.repo.transition(runId, 'queued', 'cancelled', 'cancelled by user', { ended_at: Date.now() });
      if (done) {
        await this.afterTransition(done);
        return;
      }
    }
    this.scheduler.holdBack(runId, 2000);
    await this.afterTransition(back);
  }

  /**
   * The orchestrator is stopping together with this host's worker (npm start's local worker): its
   * active runs become `lost` — not cancelled — keeping their host, so the final checkpoints written
   * while the trainers stop are still recorded; boot() requeues them and they resume from there.
   */
  async interruptHost(hostId: string, why: string): Promise<number> {
    const active = (await this.repo.findByStatus(ACTIVE)).filter((r) => r.host_id === hostId);
    for (const r of active) {
      const lost = await this.repo.transition(r.id, r.status, 'lost', `${INTERRUPTED}: ${why}`);
      if (lost) {
        this.hosts.release(r.id);
        await this.publisher.publish(lost);
      }
    }
    return active.length;
  }

  /** A host died (liveness) or restarted without its runs: they are lost, and requeued while restarts remain. */
  async onHostLost(hostId: string, why: string): Promise<void> {
    const active = (await this.repo.findByStatus(ACTIVE)).filter((r) => r.host_id === hostId);
    for (const r of active) await this.lose(r, `host ${this.hosts.nameOf(hostId)} ${why}`);
  }

  /**
   * Compares what a worker says it runs with what we think it runs. Runs we assigned to it that it
   * does not mention are lost; runs it mentions that are no longer its own must be stopped.
   */
  async reconcileHello(hostId: string, reported: { run_id: string; state: string }[]): Promise<string[]> {
    // A run the worker still holds unsent messages for ('finished') is not lost: its last messages,
    // `finished` included, arrive by replay right after welcome.
    const known = new Set(reported.map((r) => r.run_id));
    const reportedIds = new Set(reported.filter((r) => r.state === 'running').map((r) => r.run_id));
    const ours = (await this.repo.findByStatus(ACTIVE)).filter((r) => r.host_id === hostId);
    for (const r of ours) if (!known.has(r.id)) await this.lose(r, `worker on ${this.hosts.nameOf(hostId)} restarted without it`);
    const cancel: string[] = [];
    const mentioned = await this.repo.findRuns([...reportedIds]);
    for (const r of mentioned) {
      if (r.host_id !== hostId || !ACTIVE.includes(r.status) || this.cancelRequested.has(r.id)) cancel.push(r.id);
    }
    for (const id of reportedIds) if (!mentioned.find((m) => m.id === id)) cancel.push(id);
    return cancel;
  }

  /** Bookkeeping after any transition: device occupancy, live update, rescheduling. */
  async afterTransition(run: RunEntity): Promise<void> {
    if (ACTIVE.includes(run.status) && run.host_id) this.hosts.occupy(run.id, run.host_id, run.devices, run.spec.resources);
    else this.hosts.release(run.id);
    if (TERMINAL_STATUSES.includes(run.status)) this.cancelRequested.delete(run.id);
    await this.publisher.publish(run);
    if (run.status === 'lost' && this.cancelRequested.has(run.id)) {
      const c = await this.repo.transition(run.id, 'lost', 'cancelled', `cancelled while lost: ${run.reason}`, { ended_at: Date.now(), host_id: null });
      if (c) {
        this.cancelRequested.delete(run.id);
        await this.publisher.publish(c);
      }
    } else if (run.status === 'lost' && run.attempt - 1 < run.spec.max_restarts) {
      // queued_at is kept (here, at boot and on a user's requeue): a lost run already waited its turn,
      // so it goes before runs of its priority queued after it instead of to the back.
      const q = await this.repo.transition(run.id, 'lost', 'queued', `restart ${run.attempt} of ${run.spec.max_restarts} after: ${run.reason}`, {
        host_id: null,
        devices: [],
      });
      if (q) await this.publisher.publish(q);
    } else if (run.status === 'lost') {
      // host_id cleared: a worker that comes back later must not write into a run it no longer owns.
      const f = await this.repo.transition(run.id, 'lost', 'failed', `lost and no restarts left (${run.spec.max_restarts}): ${run.reason}`, { ended_at: Date.now(), host_id: null });
      if (f) await this.publisher.publish(f);
    }
    if (!ACTIVE.includes(run.status)) this.scheduler.kick();
  }

  publish(run: RunEntity): Promise<void> {
    return this.publisher.publish(run);
  }

  private async lose(run: RunEntity, why: string): Promise<void> {
    const lost = await this.repo.transition(run.id, run.status, 'lost', why);
    if (lost) await this.afterTransition(lost);
  }

  private async loseRunsOfAbsentHosts(): Promise<void> {
    for (const r of await this.repo.findByStatus(ACTIVE)) {
      if (r.host_id && !this.hosts.isOnline(r.host_id)) await this.lose(r, `host ${this.hosts.nameOf(r.host_id)} did not reconnect after the orchestrator restarted`);
    }
  }
}
