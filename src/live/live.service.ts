// Fan-out of live updates to dashboards.
//
// Run events go to a socket.io room per run, so each payload is encoded once however many dashboards
// watch. A socket that (re)subscribes first gets a catch-up replay from the database; live events for
// that run are held for it meanwhile and released after the replay, so it sees every seq once and in
// order (clients still dedupe by seq, as the contract says).
//
// Metric points are coalesced per run every `liveThrottleMs`, and a series that reports faster than a
// chart can draw is thinned per flush to a min/max envelope of LIVE_POINTS_PER_KEY points (first and
// last kept). Full resolution stays one REST call away; a dashboard never has to swallow 100k points/s.
import { Inject, Injectable } from '@nestjs/common';
import type { EvaluationView, HostView, RunView, ServerToClientEvents } from '../contracts/api.js';
import type { MetricPoint } from '../contracts/wire.js';
import { AppConfig } from '../config/app-config.js';
import { minMaxIndices } from '../metrics/downsample.js';

type Events = ServerToClientEvents;
type Emit = <E extends keyof Events>(event: E, ...args: Parameters<Events[E]>) => void;

export interface LiveClient {
  id: string;
  emit: Emit;
  join(room: string): void;
  leave(room: string): void;
}

/** What the gateway gives the service: broadcast to a room or to everyone, encoding once. */
export interface LiveTransport {
  toRoom: <E extends keyof Events>(room: string, event: E, ...args: Parameters<Events[E]>) => void;
  toAll: <E extends keyof Events>(event: E, ...args: Parameters<Events[E]>) => void;
}

export type RunEvent =
  | { kind: 'metrics'; seq: number; points: (MetricPoint & { seq?: number })[] }
  | { kind: 'evaluation'; seq: number; evaluation: EvaluationView }
  | { kind: 'log'; seq: number; level: string; message: string };

export const LIVE_POINTS_PER_KEY = 64;

const room = (runId: string) => `run:${runId}`;

@Injectable()
export class LiveService {
  private transport: LiveTransport | null = null;
  private readonly clients = new Map<string, LiveClient>();
  /** (run, client) pairs whose catch-up replay is in flight, with the events held for them. */
  private readonly catchingUp = new Map<string, Map<string, { client: LiveClient; held: RunEvent[]; afterSeq: number }>>();
  private readonly subscribers = new Map<string, Set<string>>();
  private readonly pendingPoints = new Map<string, { seq: number; points: (MetricPoint & { seq?: number })[] }>();
  private readonly pendingRuns = new Map<string, RunView>();
  private flushTimer: NodeJS.Timeout | null = null;
  private hostsTimer: NodeJS.Timeout | null = null;
  private hostsSource: () => HostView[] = () => [];

  constructor(@Inject(AppConfig) private readonly config: AppConfig) {}

  attach(transport: LiveTransport): void {
    this.transport = transport;
  }

  setHostsSource(source: () => HostView[]): void {
    this.hostsSource = source;
  }

  connect(client: LiveClient): void {
    this.clients.set(client.id, client);
    client.emit('hosts', this.hostsSource());
  }

  disconnect(clientId: string): void {
    this.clients.delete(clientId);
    for (const m of this.catchingUp.values()) m.delete(clientId);
    for (const [runId, s] of this.subscribers) {
      s.delete(clientId);
      if (!s.size) this.subscribers.delete(runId);
    }
  }

  /** Starts holding live events of `runId` for this client until `finishCatchUp`. */
  beginSubscribe(client: LiveClient, runId: string, afterSeq: number): void {
    client.leave(room(runId));
    let m = this.catchingUp.get(runId);
    if (!m) this.catchingUp.set(runId, (m = new Map()));
    m.set(client.id, { client, held: [], afterSeq });
    let s = this.subscribers.get(runId);
    if (!s) this.subscribers.set(runId, (s = new Set()));
    s.add(client.id);
  }

  /** Sends the replay and whatever was held that the replay did not cover, then goes live. */
  finishCatchUp(clientId: string, runId: string, replay: RunEvent[]): void {
    const entry = this.catchingUp.get(runId)?.get(clientId);
    if (!entry) return;
    this.catchingUp.get(runId)!.delete(clientId);
    let pointsAfter = entry.afterSeq;
    let otherAfter = entry.afterSeq;
    for (const e of [...replay, ...entry.held].sort((a, b) => a.seq - b.seq)) {
      if (e.kind === 'metrics') {
        const after = pointsAfter;
        const fresh = e.points.filter((p) => (p.seq ?? e.seq) > after);
        if (!fresh.length) continue;
        entry.client.emit('run.metrics', { run_id: runId, seq: e.seq, points: fresh });
        pointsAfter = Math.max(pointsAfter, e.seq);
      } else if (e.seq > otherAfter) {
        this.emitTo(entry.client, runId, e);
        otherAfter = e.seq;
      }
    }
    // Joining is synchronous with the sends above: no live event can fall in between.
    entry.client.join(room(runId));
  }

  unsubscribe(clientId: string, runId: string): void {
    this.catchingUp.get(runId)?.delete(clientId);
    this.subscribers.get(runId)?.delete(clientId);
    this.clients.get(clientId)?.leave(room(runId));
  }

  subscriberCount(runId: string): number {
    return this.subscribers.get(runId)?.size ?? 0;
  }

  metrics(runId: string, seq: number, points: (MetricPoint & { seq?: number })[]): void {
    if (!this.subscriberCount(runId)) return;
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
      this.transport?.toAll('hosts', this.hostsSource());
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
    for (const r of runs) this.transport?.toAll('run.update', r);
  }

  private flushRunPoints(runId: string): void {
    const p = this.pendingPoints.get(runId);
    if (!p) return;
    this.pendingPoints.delete(runId);
    this.toSubscribers(runId, { kind: 'metrics', seq: p.seq, points: thinPerKey(p.points, LIVE_POINTS_PER_KEY) });
  }

  private toSubscribers(runId: string, e: RunEvent): void {
    for (const entry of this.catchingUp.get(runId)?.values() ?? []) entry.held.push(e);
    if (!this.transport) return;
    if (e.kind === 'metrics') this.transport.toRoom(room(runId), 'run.metrics', { run_id: runId, seq: e.seq, points: e.points });
    else if (e.kind === 'evaluation') this.transport.toRoom(room(runId), 'run.evaluation', e.evaluation);
    else this.transport.toRoom(room(runId), 'run.log', { run_id: runId, seq: e.seq, level: e.level, message: e.message });
  }

  private emitTo(client: LiveClient, runId: string, e: RunEvent): void {
    if (e.kind === 'evaluation') client.emit('run.evaluation', e.evaluation);
    else if (e.kind === 'log') client.emit('run.log', { run_id: runId, seq: e.seq, level: e.level, message: e.message });
  }
}

/** Keeps at most `max` points per key (min/max envelope in order, first and last included). */
export function thinPerKey<P extends MetricPoint>(points: P[], max: number): P[] {
  const byKey = new Map<string, P[]>();
  for (const p of points) {
    const list = byKey.get(p.key);
    if (list) list.push(p);
    else byKey.set(p.key, [p]);
  }
  let thinned = false;
  for (const list of byKey.values()) if (list.length > max) thinned = true;
  if (!thinned) return points;
  const out: P[] = [];
  for (const list of byKey.values()) {
    if (list.length <= max) out.push(...list);
    else for (const i of minMaxIndices(list.map((p) => p.value), max)) out.push(list[i]);
  }
  return out;
}
