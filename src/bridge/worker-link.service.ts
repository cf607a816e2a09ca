// The orchestrator's side of the worker protocol: hello/welcome, heartbeats both ways, liveness
// (Paranoid Pirate: a peer silent for `liveness` intervals is dead), and routing of each message to
// the service that owns it. Sockets live in ZmqBroker; state lives in the services.
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import type { AcceptedContent, HeartbeatContent, HelloContent, Message, RejectedContent } from '../contracts/wire.js';
import { RUN_SCOPED_TYPES } from '../contracts/wire.js';
import { HostsService } from '../hosts/hosts.service.js';
import { IngestService } from '../metrics/ingest.service.js';
import { RunsService } from '../runs/runs.service.js';
import { SchedulerService } from '../runs/scheduler.service.js';
import { ZmqBroker } from './zmq-broker.adapter.js';

@Injectable()
export class WorkerLinkService {
  private readonly log = new Logger('WorkerLink');
  private timer: NodeJS.Timeout | null = null;
  /** Serializes hello handling per host so reconnect storms cannot interleave reconciliation. */
  private helloChain: Promise<void> = Promise.resolve();

  constructor(
    @Inject(AppConfig) private readonly config: AppConfig,
    private readonly broker: ZmqBroker,
    private readonly hosts: HostsService,
    private readonly runs: RunsService,
    private readonly ingest: IngestService,
    private readonly scheduler: SchedulerService,
  ) {}

  start(): void {
    this.broker.onMessage((peer, msg, invalid) => this.handle(peer, msg, invalid));
    this.timer = setInterval(() => void this.tick().catch((e: Error) => this.log.error(e.message)), this.config.heartbeatMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private handle(peer: Buffer, msg: Message, invalid?: string): void {
    const type = msg.header.type;
    if (invalid && !RUN_SCOPED_TYPES.includes(type)) return;
    if (type === 'hello') {
      this.helloChain = this.helloChain.then(() => this.hello(peer, msg.header.session, msg.content as HelloContent)).catch((e: Error) => this.log.error(`hello failed: ${e.stack ?? e.message}`));
      return;
    }
    const hostId = this.hosts.touch(peer);
    if (!hostId) {
      // Unknown peer or a session we declared dead: tell it to start over with hello.
      this.broker.send(peer, 'disconnect', { reason: 'unknown worker or session; say hello' });
      return;
    }
    if (RUN_SCOPED_TYPES.includes(type)) {
      this.ingest.enqueue(peer, hostId, msg, invalid);
      return;
    }
    switch (type) {
      case 'heartbeat':
        this.hosts.heartbeat(hostId, msg.content as HeartbeatContent);
        return;
      case 'accepted':
        this.scheduler.answered((msg.content as AcceptedContent).run_id);
        return;
      case 'rejected': {
        const c = msg.content as RejectedContent;
        this.scheduler.answered(c.run_id);
        void this.runs.onRejected(hostId, c.run_id, c.reason).catch((e: Error) => this.log.error(e.message));
        return;
      }
      default:
        // Orchestrator-to-worker types arriving here, or types a newer worker sends: ignored.
        return;
    }
  }

  private async hello(peer: Buffer, session: string, hello: HelloContent): Promise<void> {
    const { hostId, restarted } = await this.hosts.register(peer, session, hello);
    if (restarted) this.log.warn(`worker ${hello.host} restarted (new session)`);
    // Everything already stored must be finished first so the acks we send are current.
    await this.ingest.drain();
    const acks: Record<string, number> = {};
    for (const r of hello.runs) acks[r.run_id] = await this.ingest.ackPoint(r.run_id);
    const cancel = await this.runs.reconcileHello(hostId, hello.runs);
    this.broker.send(peer, 'welcome', { heartbeat_interval_ms: this.config.heartbeatMs, liveness: this.config.liveness, acks, cancel });
    this.scheduler.kick();
  }

  private async tick(): Promise<void> {
    for (const peer of this.hosts.onlinePeers()) this.broker.send(peer, 'heartbeat', {});
    const dead = await this.hosts.expire(Date.now(), this.config.heartbeatMs * this.config.liveness);
    for (const hostId of dead) await this.runs.onHostLost(hostId, `silent for ${this.config.liveness} heartbeats`);
    // A worker that is alive but never answered an assignment (the frame was lost or unreadable):
    // treat it as a rejection so the run is placed again instead of waiting forever.
    for (const { runId, hostId } of this.scheduler.overdue(Date.now(), this.config.assignTimeoutMs)) {
      await this.runs.onRejected(hostId, runId, `no answer to the assignment within ${this.config.assignTimeoutMs} ms`);
    }
  }
}
