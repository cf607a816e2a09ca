// A worker agent simulated in TypeScript over a real DEALER socket and the real codec: for protocol
// tests (duplicates, bad frames, dead hosts) and benchmarks with many hosts, where real Python
// processes would only add noise. The real agent is exercised by the e2e tests that train.
import { randomUUID } from 'node:crypto';
import * as zmq from 'zeromq';
import type { ContentByType, DeviceInfo, HelloContent, Message, MessageType } from '../src/contracts/wire.js';
import { decode, encode, makeHeader } from '../src/bridge/envelope.codec.js';

export interface SimulatedWorkerOptions {
  endpoint: string;
  key: string;
  host?: string;
  workerId?: string;
  devices?: DeviceInfo[];
  cpuSlots?: number;
  labels?: string[];
  /** Answer assignments automatically with `accepted` (default true). */
  autoAccept?: boolean;
  /** Send heartbeats every this many ms (0 = never; to simulate a dead host). */
  heartbeatMs?: number;
  /** Keep acks for next() (tests); load generators only need lastAck/waitAck (default true). */
  recordAcks?: boolean;
}

export class SimulatedWorker {
  readonly socket = new zmq.Dealer({ linger: 0 });
  readonly session = randomUUID();
  readonly workerId: string;
  readonly received: Message[] = [];
  private readonly key: Buffer;
  private readonly waiters: { pred: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  private hb: NodeJS.Timeout | null = null;
  private loop: Promise<void> | null = null;
  private sendChain: Promise<void> = Promise.resolve();
  private closed = false;
  /** Highest ack per run, relative to nothing: the raw seq the orchestrator acknowledged. */
  readonly lastAck = new Map<string, number>();
  private readonly ackWaiters: { runId: string; seq: number; resolve: () => void }[] = [];

  constructor(private readonly opts: SimulatedWorkerOptions) {
    this.key = Buffer.from(opts.key);
    this.workerId = opts.workerId ?? randomUUID();
  }

  async connect(): Promise<Message<'welcome'>> {
    this.socket.connect(this.opts.endpoint);
    this.loop = this.receiveLoop();
    const welcome = this.next((m) => m.header.type === 'welcome');
    this.send('hello', this.hello());
    const w = (await welcome) as Message<'welcome'>;
    if ((this.opts.heartbeatMs ?? 500) > 0) {
      this.hb = setInterval(() => this.send('heartbeat', { devices: [], cpu_pct: null, mem_used_mb: null, runs: [] }), this.opts.heartbeatMs ?? 500);
    }
    return w;
  }

  hello(runs: HelloContent['runs'] = []): HelloContent {
    return {
      host: this.opts.host ?? `fake-${this.workerId.slice(0, 6)}`,
      worker_id: this.workerId,
      labels: this.opts.labels ?? [],
      devices: this.opts.devices ?? [{ index: -1, kind: 'cpu', name: 'cpu', memory_total_mb: 1024 }],
      cpu_slots: this.opts.cpuSlots ?? 1,
      versions: { python: 'fake', torch: 'fake', torchvision: 'fake', cuda: null, worker: 'fake' },
      runs,
      pid: process.pid,
    };
  }

  send<T extends MessageType>(type: T, content: ContentByType[T], runScope?: { run_id: string; seq: number }): void {
    this.sendRaw(encode(this.key, makeHeader(this.session, type, runScope), content));
  }

  sendRaw(frames: Buffer[]): void {
    this.sendChain = this.sendChain.then(() => this.socket.send(frames)).catch(() => undefined);
  }

  stopHeartbeats(): void {
    if (this.hb) clearInterval(this.hb);
    this.hb = null;
  }

  next(pred: (m: Message) => boolean, timeoutMs = 30_000): Promise<Message> {
    const found = this.received.find(pred);
    if (found) {
      this.received.splice(this.received.indexOf(found), 1);
      return Promise.resolve(found);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('simulated worker: timed out waiting for a message')), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(t);
          resolve(m);
        },
      });
    });
  }

  /** Resolves once the orchestrator acknowledged `seq` (or more) for the run. */
  waitAck(runId: string, seq: number): Promise<void> {
    if ((this.lastAck.get(runId) ?? 0) >= seq) return Promise.resolve();
    return new Promise((resolve) => this.ackWaiters.push({ runId, seq, resolve }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopHeartbeats();
    await this.sendChain;
    this.socket.close();
    await this.loop?.catch(() => undefined);
  }

  private async receiveLoop(): Promise<void> {
    try {
      for await (const frames of this.socket) {
        let m: Message;
        try {
          m = decode(this.key, frames);
        } catch {
          continue;
        }
        if (m.header.type === 'ack') {
          const { run_id, seq } = m.content as ContentByType['ack'];
          this.lastAck.set(run_id, Math.max(this.lastAck.get(run_id) ?? 0, seq));
          for (let i = this.ackWaiters.length - 1; i >= 0; i--) {
            const w = this.ackWaiters[i];
            if (w.runId === run_id && seq >= w.seq) {
              this.ackWaiters.splice(i, 1);
              w.resolve();
            }
          }
          if (this.opts.recordAcks === false) continue;
        }
        if (m.header.type === 'assign' && this.opts.autoAccept !== false) {
          this.send('accepted', { run_id: (m.content as ContentByType['assign']).run_id });
        }
        const i = this.waiters.findIndex((w) => w.pred(m));
        if (i >= 0) this.waiters.splice(i, 1)[0].resolve(m);
        else this.received.push(m);
      }
    } catch {
      /* closed */
    }
  }
}
