// Fan-out of live updates to dashboards. Run-scoped events go only to sockets subscribed to that run,
// coalesced per run every `liveThrottleMs`, and held back for a socket while its catch-up replay is
// being sent, so that every client sees each run's events once and in seq order.
import { Inject, Injectable } from '@nestjs/common';
import type { EvaluationView, HostView, RunView, ServerToClientEvents } from '../contracts/api.js';
import type { MetricPoint } from '../contracts/wire.js';
import { AppConfig } from '../config/app-config.js';

type Emit = <E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>) => void;

export interface LiveClient {
  id: string;
  emit: Emit;
}

type RunEvent =
  | { kind: 'metrics'; seq: number; points: MetricPoint[] }
  | { kind: 'evaluation'; seq: number; evaluation: EvaluationView }
  | { kind: 'log'; seq: number; level: string; message: string };

interface Subscription {
  client: LiveClient;
  /** Events held while the catch-up replay is in flight; null once live. */
  held: RunEvent[] | null;
  /** Highest seq delivered to this client for this run, per stream (points and evaluation/log lines). */
  delivered: { metrics: number; other: number };
}

@Injectable()
export class LiveService {
  private readonly clients = new Map<string, LiveClient>();
  private readonly subs = new Map<string, Map<string, Subscription>>();
  private readonly pendingPoints = new Map<string, { seq: number; points: MetricPoint[] }>();
  private readonly pendingRuns = new Map<string, RunView>();
  private flushTimer: NodeJS.Timeout | null = null;
  private hostsTimer: NodeJS.Timeout | null = null;
  private hostsSource: () => HostView[] = () => [];

  constructor(@Inject(AppConfig) private readonly config: AppConfig) {}

  setHostsSource(source: () => HostView[]): void {
    this.hostsSource = source;
  }

  connect(client: LiveClient): void {
    this.clients.set(client.id, client);
    client.emit('hosts', this.hostsSource());
  }

  disconnect(clientId: string): void {
    this.clients.delete(clientId);
    for (const [runId, m] of this.subs) {
      m.delete(clientId);
      if (!m.size) this.subs.delete(runId);
    }
  }

  /** Starts holding live events for (client, run) until `finishCatchUp`. */
  beginSubscribe(client: LiveClient, runId: string, afterSeq: number): void {
    let m = this.subs.get(runId);
    if (!m) this.subs.set(runId, (m = new Map()));
    m.set(client.id, { client, held: [], delivered: { metrics: afterSeq, other: afterSeq } });
  }

  /** Sends the replay, then whatever was held that the replay did not already cover. */
  finishCatchUp(clientId: string, runId: string, replay: RunEvent[]): void {
    const sub = this.subs.get(runId)?.get(clientId);
    if (!sub) return;
    const held = sub.held ?? [];
    sub.held = null;
    for (const e of [...replay, ...held].sort((a, b) => a.seq - b.seq)) this.deliver(runId, sub, e);
  }

  unsubscribe(clientId: string, runId: string): void {
    this.subs.get(runId)?.delete(clientId);
  }

  subscriberCount(runId: string): number {
    return this.subs.get(runId)?.size ?? 0;
  }

  metrics(runId: string, seq: number, points: MetricPoint[]): void {
    if (!this.subs.has(runId)) return;
    const p = this.pendingPoints.get(runId);
    if (p) {
      p.seq = Math.max(p.seq, seq);
      for (const pt of points) p.points.push(pt);
    } else {
      this.pendingPoints.set(runId, { seq, points: [...points] });
    }
    this.scheduleFlush();
  }

  evaluation(e: EvaluationView): void {
    this.flushRunPoints(e.run_id);
    this.toSubscribers(e.run_id, { kind: 'evaluation', seq: e.seq, evaluation: e });
  }

  logLine(runId: string, seq: number, level: string, message: string): void {
    this.flushRunPoints(runId);
    this.toSubscribers(runId, { kind: 'log', seq, level, message });
  }

  run(view: RunView): void {
    this.pendingRuns.set(view.id, view);
    this.scheduleFlush();
  }

  hostsChanged(): void {
    if (this.hostsTimer) return;
    this.hostsTimer = setTimeout(() => {
      this.hostsTimer = null;
      const hosts = this.hostsSource();
      for (const c of this.clients.values()) c.emit('hosts', hosts);
    }, Math.max(this.config.liveThrottleMs, 50));
    this.hostsTimer.unref?.();
  }

  close(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.hostsTimer) clearTimeout(this.hostsTimer);
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => this.flush(), this.config.liveThrottleMs);
    this.flushTimer.unref?.();
  }

  private flush(): void {
    this.flushTimer = null;
    for (const runId of [...this.pendingPoints.keys()]) this.flushRunPoints(runId);
    const runs = [...this.pendingRuns.values()];
    this.pendingRuns.clear();
    for (const c of this.clients.values()) for (const r of runs) c.emit('run.update', r);
  }

  private flushRunPoints(runId: string): void {
    const p = this.pendingPoints.get(runId);
    if (!p) return;
    this.pendingPoints.delete(runId);
    this.toSubscribers(runId, { kind: 'metrics', seq: p.seq, points: p.points });
  }

  private toSubscribers(runId: string, e: RunEvent): void {
    const m = this.subs.get(runId);
    if (!m) return;
    for (const sub of m.values()) {
      if (sub.held) sub.held.push(e);
      else this.deliver(runId, sub, e);
    }
  }

  private deliver(runId: string, sub: Subscription, e: RunEvent): void {
    if (e.kind === 'metrics') {
      // A coalesced batch can straddle the replay boundary: keep only the points the client lacks.
      const after = sub.delivered.metrics;
      const fresh = e.points.filter((p) => ((p as MetricPoint & { seq?: number }).seq ?? e.seq) > after);
      if (!fresh.length) return;
      sub.client.emit('run.metrics', { run_id: runId, seq: e.seq, points: fresh });
      sub.delivered.metrics = Math.max(after, e.seq);
      return;
    }
    if (e.seq <= sub.delivered.other) return;
    if (e.kind === 'evaluation') sub.client.emit('run.evaluation', e.evaluation);
    else sub.client.emit('run.log', { run_id: runId, seq: e.seq, level: e.level, message: e.message });
    sub.delivered.other = e.seq;
  }
}
