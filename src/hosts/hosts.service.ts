// The registry of worker hosts: who is connected (peer identity and session), their devices and
// latest stats, which runs occupy which devices, and liveness. In memory for speed, persisted for
// the hosts page; this is the single place that knows a host is alive.
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import type { HostHistoryView, HostView } from '../contracts/api.js';
import type { HeartbeatContent, HelloContent } from '../contracts/wire.js';
import type { ResourceSpec } from '../contracts/spec.js';
import { HostEntity } from '../storage/entities.js';
import { minMaxIndices } from '../metrics/downsample.js';

/** Device history is kept this long. */
const SAMPLE_RETENTION_MS = 7 * 24 * 3600 * 1000;
import { HostsRepository } from '../storage/hosts.repository.js';

interface Occupancy {
  host_id: string;
  devices: number[];
  /** The run's spec.resources.share: it may sit on a device with other runs that allow it too. */
  share: boolean;
}

interface HostState {
  entity: HostEntity;
  peer: Buffer | null;
  session: string | null;
  lastSeen: number;
  stats: HeartbeatContent | null;
}

export interface HostCapacitySnapshot {
  host_id: string;
  name: string;
  labels: string[];
  online: boolean;
  /** shared_ok: the device holds runs and every one of them allows sharing (the scheduler may add one). */
  devices: { index: number; kind: 'cuda' | 'cpu'; memory_total_mb: number; run_ids: string[]; shared_ok: boolean }[];
  cpu_slots: number;
  cpu_run_ids: string[];
}

@Injectable()
export class HostsService {
  private readonly log = new Logger('Hosts');
  private readonly hosts = new Map<string, HostState>();
  private readonly byPeer = new Map<string, string>();
  private readonly occupancy = new Map<string, Occupancy>();
  private changeListener: () => void = () => undefined;
  private readonly lastSample = new Map<string, number>();
  private lastPrune = 0;

  constructor(
    private readonly repo: HostsRepository,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  async load(): Promise<void> {
    await this.repo.markAllOffline();
    for (const e of await this.repo.all()) this.hosts.set(e.id, { entity: e, peer: null, session: null, lastSeen: e.last_seen ?? 0, stats: null });
  }

  onChange(listener: () => void): void {
    this.changeListener = listener;
  }

  /** Registers (or re-registers) a worker after `hello`. Returns whether this is a new session. */
  async register(peer: Buffer, session: string, hello: HelloContent): Promise<{ hostId: string; restarted: boolean }> {
    const id = hello.worker_id;
    const prev = this.hosts.get(id);
    if (prev?.peer) this.byPeer.delete(prev.peer.toString('hex'));
    const now = Date.now();
    const entity: HostEntity = Object.assign(new HostEntity(), {
      id,
      name: hello.host,
      labels: hello.labels,
      devices: hello.devices,
      cpu_slots: hello.cpu_slots,
      versions: hello.versions as unknown as Record<string, string | null>,
      status: 'online' as const,
      last_seen: now,
      connected_at: now,
    });
    this.hosts.set(id, { entity, peer, session, lastSeen: now, stats: null });
    this.byPeer.set(peer.toString('hex'), id);
    await this.repo.upsert(entity);
    this.log.log(`host ${hello.host} (${id}) online with ${hello.devices.length} device(s), ${hello.cpu_slots} CPU slot(s)`);
    this.changeListener();
    return { hostId: id, restarted: !!prev?.session && prev.session !== session };
  }

  /** Host id of a connected peer, refreshing its liveness; null for a peer that never said hello. */
  touch(peer: Buffer): string | null {
    const id = this.byPeer.get(peer.toString('hex'));
    if (!id) return null;
    const h = this.hosts.get(id);
    if (!h || h.entity.status !== 'online') return null;
    h.lastSeen = Date.now();
    return id;
  }

  heartbeat(hostId: string, stats: HeartbeatContent): void {
    const h = this.hosts.get(hostId);
    if (!h) return;
    h.stats = stats;
    this.changeListener();
    this.sample(hostId, stats);
  }

  /** Stats history of a host's devices over the last `sinceMs`, each series thinned to `points`. */
  async history(hostId: string, sinceMs: number, points: number): Promise<HostHistoryView | null> {
    if (!this.hosts.has(hostId)) return null;
    const rows = await this.repo.samples(hostId, Date.now() - sinceMs);
    const devices: HostHistoryView['devices'] = {};
    for (const r of rows) {
      const d = (devices[String(r.device_index)] ??= { at: [], utilization_pct: [], memory_used_mb: [], temperature_c: [] });
      d.at.push(r.at);
      d.utilization_pct.push(r.utilization_pct);
      d.memory_used_mb.push(r.memory_used_mb);
      d.temperature_c.push(r.temperature_c);
    }
    for (const d of Object.values(devices)) {
      if (d.at.length <= points) continue;
      const idx = minMaxIndices(d.utilization_pct.map((v) => v ?? NaN), points);
      d.at = idx.map((i) => d.at[i]);
      d.utilization_pct = idx.map((i) => d.utilization_pct[i]);
      d.memory_used_mb = idx.map((i) => d.memory_used_mb[i]);
      d.temperature_c = idx.map((i) => d.temperature_c[i]);
    }
    return { host_id: hostId, sample_every_ms: this.config.deviceSampleMs, devices };
  }

  private sample(hostId: string, stats: HeartbeatContent): void {
    const now = Date.now();
    if (now - (this.lastSample.get(hostId) ?? 0) < this.config.deviceSampleMs) return;
    this.lastSample.set(hostId, now);
    const rows = (stats.devices ?? []).map((d) => ({
      host_id: hostId,
      device_index: d.index,
      at: now,
      utilization_pct: d.utilization_pct,
      memory_used_mb: d.memory_used_mb,
      temperature_c: d.temperature_c,
    }));
    if ('cpu_pct' in stats) rows.push({ host_id: hostId, device_index: -1, at: now, utilization_pct: stats.cpu_pct ?? null, memory_used_mb: stats.mem_used_mb ?? null, temperature_c: null });
    const prune = now - this.lastPrune > 3600_000;
    if (prune) this.lastPrune = now;
    // Off the hot path: a failed sample write loses one point of history, nothing else.
    void (async () => {
      await this.repo.insertSamples(rows);
      if (prune) await this.repo.pruneSamples(now - SAMPLE_RETENTION_MS);
    })().catch((e: Error) => this.log.warn(`device samples not stored: ${e.message}`));
  }

  peerOf(hostId: string): Buffer | null {
    const h = this.hosts.get(hostId);
    return h && h.entity.status === 'online' ? h.peer : null;
  }

  onlinePeers(): Buffer[] {
    return [...this.hosts.values()].filter((h) => h.entity.status === 'online' && h.peer).map((h) => h.peer as Buffer);
  }

  /** The host's name (what reasons and logs show people), or its id when this orchestrator never saw it. */
  nameOf(hostId: string): string {
    return this.hosts.get(hostId)?.entity.name ?? hostId;
  }

  isOnline(hostId: string): boolean {
    return this.hosts.get(hostId)?.entity.status === 'online';
  }

  /** Marks hosts silent for longer than `deadAfterMs` offline; returns their ids. */
  async expire(now: number, deadAfterMs: number): Promise<string[]> {
    const dead: string[] = [];
    for (const [id, h] of this.hosts) {
      if (h.entity.status === 'online' && now - h.lastSeen > deadAfterMs) dead.push(id);
    }
    for (const id of dead) await this.markOffline(id, `silent for ${now - (this.hosts.get(id)?.lastSeen ?? now)} ms`);
    return dead;
  }

  async markOffline(hostId: string, why: string): Promise<void> {
    const h = this.hosts.get(hostId);
    if (!h || h.entity.status === 'offline') return;
    h.entity.status = 'offline';
    if (h.peer) this.byPeer.delete(h.peer.toString('hex'));
    h.peer = null;
    h.stats = null;
    this.log.warn(`host ${h.entity.name} (${hostId}) offline: ${why}`);
    await this.repo.setStatus(hostId, 'offline', h.lastSeen);
    this.changeListener();
  }

  /** The run holds these devices; it lets others share them only if its spec says so. */
  occupy(runId: string, hostId: string, devices: number[], resources: Pick<ResourceSpec, 'share'> | undefined): void {
    this.occupancy.set(runId, { host_id: hostId, devices, share: resources?.share === true });
    this.changeListener();
  }

  release(runId: string): void {
    if (this.occupancy.delete(runId)) this.changeListener();
  }

  capacities(): HostCapacitySnapshot[] {
    const runsByHost = new Map<string, { runId: string; devices: number[]; share: boolean }[]>();
    for (const [runId, o] of this.occupancy) {
      const list = runsByHost.get(o.host_id) ?? [];
      list.push({ runId, devices: o.devices, share: o.share });
      runsByHost.set(o.host_id, list);
    }
    const out: HostCapacitySnapshot[] = [];
    for (const [id, h] of this.hosts) {
      const runs = runsByHost.get(id) ?? [];
      out.push({
        host_id: id,
        name: h.entity.name,
        labels: h.entity.labels,
        online: h.entity.status === 'online',
        devices: h.entity.devices
          .filter((d) => d.kind === 'cuda')
          .map((d) => {
            const on = runs.filter((r) => r.devices.includes(d.index));
            return { index: d.index, kind: d.kind, memory_total_mb: d.memory_total_mb, run_ids: on.map((r) => r.runId), shared_ok: on.length > 0 && on.every((r) => r.share) };
          }),
        cpu_slots: h.entity.cpu_slots,
        cpu_run_ids: runs.filter((r) => r.devices.includes(-1)).map((r) => r.runId),
      });
    }
    return out;
  }

  views(): HostView[] {
    const caps = new Map(this.capacities().map((c) => [c.host_id, c]));
    return [...this.hosts.values()]
      .map((h) => {
        const cap = caps.get(h.entity.id);
        const statsByIndex = new Map((h.stats?.devices ?? []).map((s) => [s.index, s]));
        return {
          id: h.entity.id,
          name: h.entity.name,
          status: h.entity.status,
          labels: h.entity.labels,
          cpu_slots: h.entity.cpu_slots,
          versions: h.entity.versions,
          last_seen: h.lastSeen ? new Date(h.lastSeen).toISOString() : null,
          connected_at: h.entity.connected_at ? new Date(h.entity.connected_at).toISOString() : null,
          cpu_pct: h.stats?.cpu_pct ?? null,
          mem_used_mb: h.stats?.mem_used_mb ?? null,
          devices: h.entity.devices.map((d) => ({
            ...d,
            stats: statsByIndex.get(d.index) ?? null,
            run_ids: d.kind === 'cpu' ? (cap?.cpu_run_ids ?? []) : (cap?.devices.find((x) => x.index === d.index)?.run_ids ?? []),
          })),
        } satisfies HostView;
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  progressOf(hostId: string, runId: string): { epoch: number; step: number; steps_per_epoch: number } | null {
    const r = this.hosts.get(hostId)?.stats?.runs?.find((x) => x.run_id === runId);
    return r ? { epoch: r.epoch, step: r.step, steps_per_epoch: r.steps_per_epoch } : null;
  }
}
