// Placement of queued runs on hosts: a pure function of the queue and a snapshot of host capacity, so
// the service can run it on every trigger (run queued, slot freed, host joined) and tests can drive it.
//
// Policy (docs/experiments.md explains it with examples):
// - Order: priority desc, then queued_at asc (FIFO), then id.
// - gpus = 0 takes a CPU slot on an online host with all the run's labels (the host with most free
//   slots, to spread CPU load). gpus >= 1 needs that many CUDA devices on ONE online host with all the
//   labels and memory_total_mb >= min_gpu_memory_mb; the host with the fewest usable devices that still
//   fit is chosen (best fit keeps whole hosts free for wide runs), lowest device indexes first.
// - A device holds one run, unless the run allows sharing and every run already on it does too
//   (device.shared_ok) and it holds fewer than maxRunsPerSharedDevice; empty devices are used first.
// - Backfill: a run that does not fit does not stop lower runs from using what is free — but a run
//   needing 2+ GPUs that does not fit reserves one host (the one closest to fitting it): the free
//   devices there are held for it, so single-GPU runs cannot starve it forever. At most
//   maxReservations runs hold a reservation per pass (default 1, the first blocked wide run).
// - A run no online host could satisfy even when idle is reported unschedulable with the reason.
import type { ResourceSpec } from '../contracts/spec.js';

export interface HostCapacity {
  host_id: string;
  /** What reasons call the host (its hostname); the id when absent. */
  name?: string;
  labels: string[];
  online: boolean;
  devices: { index: number; kind: 'cuda' | 'cpu'; memory_total_mb: number; run_ids: string[]; shared_ok?: boolean }[];
  cpu_slots: number;
  cpu_run_ids: string[];
}

export interface QueuedRun {
  id: string;
  priority: number;
  queued_at: number;
  resources: ResourceSpec;
}

/** devices: CUDA indexes on the host, or [-1] for a CPU slot. */
export interface Placement {
  run_id: string;
  host_id: string;
  devices: number[];
}

export interface Waiting {
  run_id: string;
  /** 1-based place in line among runs that can eventually run; 0 for unschedulable runs. */
  position: number;
  reason: string;
  unschedulable: boolean;
}

export interface ScheduleOptions {
  /** Most runs on one device when all of them allow sharing (default 2). */
  maxRunsPerSharedDevice?: number;
  /** Most blocked wide runs that may hold a host's free devices per pass (default 1; 0 = pure backfill). */
  maxReservations?: number;
}

export interface Reservation {
  run_id: string;
  host_id: string;
  devices: number[];
}

export interface ScheduleResult {
  placements: Placement[];
  waiting: Waiting[];
  /** Free devices held for blocked wide runs in this pass (informational). */
  reservations: Reservation[];
}

export const CPU_DEVICE = -1;

export function compareQueued(a: QueuedRun, b: QueuedRun): number {
  return b.priority - a.priority || a.queued_at - b.queued_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

interface DeviceState {
  index: number;
  memory: number;
  load: number;
  sharedOk: boolean;
  reserved: boolean;
}

interface HostState {
  id: string;
  labels: Set<string>;
  devices: DeviceState[];
  /** Unreserved empty devices, ignoring memory: a cheap upper bound before scanning devices. */
  freeCount: number;
  cpuSlots: number;
  cpuFree: number;
  reservedFor: string | null;
}

interface Need {
  gpus: number;
  memory: number;
  labels: string[];
  share: boolean;
  labelKey: string;
  key: string;
}

function readNeed(r: ResourceSpec | undefined): Need | string {
  const gpus = r?.gpus;
  if (typeof gpus !== 'number' || !Number.isInteger(gpus) || gpus < 0) return 'invalid resources: gpus must be a whole number >= 0';
  const memory = r?.min_gpu_memory_mb ?? 0;
  if (typeof memory !== 'number' || !Number.isFinite(memory) || memory < 0) return 'invalid resources: min_gpu_memory_mb must be >= 0';
  const labels = r?.labels ?? [];
  if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string')) return 'invalid resources: labels must be strings';
  const share = r?.share === true && gpus > 0;
  const labelKey = [...new Set(labels)].sort().join('\u0001');
  return { gpus, memory, labels: [...new Set(labels)].sort(), share, labelKey, key: `${gpus}|${memory}|${share ? 1 : 0}|${labelKey}` };
}

function qualifiers(n: Need): string {
  const mem = n.memory > 0 ? ` with >= ${n.memory} MB` : '';
  const labels = n.labels.length ? `${mem ? ' and' : ' with'} labels [${n.labels.join(', ')}]` : '';
  return mem + labels;
}

function describeNeed(n: Need): string {
  if (n.gpus === 0) return `a CPU slot${n.labels.length ? ` on a host with labels [${n.labels.join(', ')}]` : ''}`;
  return `${n.gpus} GPU${n.gpus > 1 ? 's' : ''}${qualifiers(n)}`;
}

function buildHosts(hosts: HostCapacity[]): HostState[] {
  const out: HostState[] = [];
  for (const h of hosts) {
    if (!h || h.online !== true) continue;
    const devices: DeviceState[] = (h.devices ?? [])
      .filter((d) => d.kind === 'cuda')
      .map((d) => {
        const load = d.run_ids?.length ?? 0;
        return { index: d.index, memory: d.memory_total_mb ?? 0, load, sharedOk: load > 0 && d.shared_ok === true, reserved: false };
      })
      .sort((a, b) => a.index - b.index);
    const cpuSlots = Math.max(0, Math.floor(h.cpu_slots ?? 0));
    out.push({
      id: h.host_id,
      labels: new Set(h.labels ?? []),
      devices,
      freeCount: devices.filter((d) => d.load === 0).length,
      cpuSlots,
      cpuFree: Math.max(0, cpuSlots - (h.cpu_run_ids?.length ?? 0)),
      reservedFor: null,
    });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function schedule(queued: QueuedRun[], hosts: HostCapacity[], options: ScheduleOptions = {}): ScheduleResult {
  const maxShare = Math.max(1, options.maxRunsPerSharedDevice ?? 2);
  const maxReservations = Math.max(0, options.maxReservations ?? 1);
  const state = buildHosts(hosts);

  const hostsByLabels = new Map<string, HostState[]>();
  const eligibleHosts = (n: Need): HostState[] => {
    let list = hostsByLabels.get(n.labelKey);
    if (!list) {
      list = state.filter((h) => n.labels.every((l) => h.labels.has(l)));
      hostsByLabels.set(n.labelKey, list);
    }
    return list;
  };

  // Whether any online host could run this shape when idle; cached per shape.
  const capability = new Map<string, string | null>();
  const neverReason = (n: Need): string | null => {
    const cacheKey = `${n.gpus}|${n.memory}|${n.labelKey}`;
    if (capability.has(cacheKey)) return capability.get(cacheKey) ?? null;
    let reason: string | null = null;
    const hostsOk = eligibleHosts(n);
    if (state.length === 0) reason = `needs ${describeNeed(n)}; no host is online`;
    else if (hostsOk.length === 0) reason = `needs ${describeNeed(n)}; no online host has labels [${n.labels.join(', ')}]`;
    else if (n.gpus === 0) {
      if (!hostsOk.some((h) => h.cpuSlots > 0)) reason = `needs ${describeNeed(n)}; no online host${n.labels.length ? ' with those labels' : ''} offers CPU slots`;
    } else {
      let largest = 0;
      for (const h of hostsOk) largest = Math.max(largest, h.devices.filter((d) => d.memory >= n.memory).length);
      if (largest < n.gpus) reason = `needs ${describeNeed(n)}; largest host offers ${largest}`;
    }
    capability.set(cacheKey, reason);
    return reason;
  };

  const usable = (d: DeviceState, n: Need): 'free' | 'shared' | null => {
    if (d.reserved || d.memory < n.memory) return null;
    if (d.load === 0) return 'free';
    return n.share && d.sharedOk && d.load < maxShare ? 'shared' : null;
  };

  const placeGpus = (n: Need): { host: HostState; devices: DeviceState[] } | null => {
    let best: HostState | null = null;
    let bestCount = Infinity;
    for (const h of eligibleHosts(n)) {
      if (!n.share && h.freeCount < n.gpus) continue;
      let count = 0;
      for (const d of h.devices) if (usable(d, n)) count++;
      if (count >= n.gpus && count < bestCount) {
        best = h;
        bestCount = count;
        if (count === n.gpus) break;
      }
    }
    if (!best) return null;
    const free = best.devices.filter((d) => usable(d, n) === 'free');
    const shared = best.devices.filter((d) => usable(d, n) === 'shared').sort((a, b) => a.load - b.load || a.index - b.index);
    return { host: best, devices: [...free, ...shared].slice(0, n.gpus) };
  };

  const placeCpu = (n: Need): HostState | null => {
    let best: HostState | null = null;
    for (const h of eligibleHosts(n)) if (h.cpuFree > 0 && (!best || h.cpuFree > best.cpuFree)) best = h;
    return best;
  };

  const reserve = (run: QueuedRun, n: Need): Reservation | null => {
    let best: HostState | null = null;
    let bestFree = -1;
    for (const h of eligibleHosts(n)) {
      if (h.reservedFor !== null) continue;
      let capable = 0;
      let free = 0;
      for (const d of h.devices) {
        if (d.memory < n.memory) continue;
        capable++;
        if (d.load === 0 && !d.reserved) free++;
      }
      if (capable >= n.gpus && free > bestFree) {
        best = h;
        bestFree = free;
      }
    }
    if (!best) return null;
    best.reservedFor = run.id;
    const held: number[] = [];
    for (const d of best.devices) {
      if (d.load === 0 && !d.reserved && d.memory >= n.memory) {
        d.reserved = true;
        best.freeCount--;
        held.push(d.index);
      }
    }
    return { run_id: run.id, host_id: best.id, devices: held };
  };

  const seen = new Set<string>();
  const order = queued.filter((r) => r && typeof r.id === 'string' && !seen.has(r.id) && (seen.add(r.id), true)).sort(compareQueued);
  const placements: Placement[] = [];
  const reservations: Reservation[] = [];
  const blocked: { run: QueuedRun; need: Need | null; never: string | null }[] = [];
  // Capacity only shrinks during a pass, so a shape that did not fit once will not fit later in it.
  const noFit = new Set<string>();

  for (const run of order) {
    const need = readNeed(run.resources);
    if (typeof need === 'string') {
      blocked.push({ run, need: null, never: need });
      continue;
    }
    const never = neverReason(need);
    if (never) {
      blocked.push({ run, need, never });
      continue;
    }
    if (!noFit.has(need.key)) {
      if (need.gpus === 0) {
        const host = placeCpu(need);
        if (host) {
          host.cpuFree--;
          placements.push({ run_id: run.id, host_id: host.id, devices: [CPU_DEVICE] });
          continue;
        }
      } else {
        const fit = placeGpus(need);
        if (fit) {
          for (const d of fit.devices) {
            if (d.load === 0) {
              fit.host.freeCount--;
              d.sharedOk = need.share;
            } else d.sharedOk = d.sharedOk && need.share;
            d.load++;
          }
          placements.push({ run_id: run.id, host_id: fit.host.id, devices: fit.devices.map((d) => d.index) });
          continue;
        }
      }
      noFit.add(need.key);
    }
    if (need.gpus >= 2 && reservations.length < maxReservations) {
      const r = reserve(run, need);
      if (r) reservations.push(r);
    }
    blocked.push({ run, need, never: null });
  }

  const heldFor = new Map(reservations.map((r) => [r.run_id, r]));
  const nameOf = new Map(hosts.map((h) => [h.host_id, h.name ?? h.host_id]));
  let position = 0;
  const waiting: Waiting[] = blocked.map(({ run, need, never }) => {
    if (never !== null || need === null) return { run_id: run.id, position: 0, reason: never ?? 'invalid resources', unschedulable: true };
    position++;
    const what =
      need.gpus === 0
        ? `a free CPU slot${need.labels.length ? ` on a host with labels [${need.labels.join(', ')}]` : ''}`
        : need.gpus === 1
          ? `a free GPU${qualifiers(need)}`
          : `${need.gpus} free GPUs on one host${qualifiers(need)}`;
    const held = heldFor.get(run.id);
    const hold = held ? `; ${held.devices.length} free GPU${held.devices.length === 1 ? '' : 's'} on ${nameOf.get(held.host_id) ?? held.host_id} held for it` : '';
    return { run_id: run.id, position, reason: `waiting for ${what}${hold}; position ${position}`, unschedulable: false };
  });
  return { placements, waiting, reservations };
}
