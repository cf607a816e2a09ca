// Boot and shutdown order in one place. Start: load state, then open the broker, then accept
// workers, then start the local worker. Stop: the local worker first (its trainers write final
// checkpoints and their last messages still reach an open broker), then drain ingestion, then close
// sockets and the database.
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { LocalWorkerSupervisor } from '../bridge/local-worker.supervisor.js';
import { WorkerLinkService } from '../bridge/worker-link.service.js';
import { ZmqBroker } from '../bridge/zmq-broker.adapter.js';
import { AppConfig, redactUrl } from '../config/app-config.js';
import { HostsService } from '../hosts/hosts.service.js';
import { LiveService } from '../live/live.service.js';
import { IngestService } from '../metrics/ingest.service.js';
import { RunsService } from '../runs/runs.service.js';
import { SchedulerService } from '../runs/scheduler.service.js';

@Injectable()
export class Lifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger('Lifecycle');

  constructor(
    @Inject(AppConfig) private readonly config: AppConfig,
    private readonly ds: DataSource,
    private readonly broker: ZmqBroker,
    private readonly hosts: HostsService,
    private readonly live: LiveService,
    private readonly runs: RunsService,
    private readonly scheduler: SchedulerService,
    private readonly ingest: IngestService,
    private readonly link: WorkerLinkService,
    private readonly localWorker: LocalWorkerSupervisor,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.log.log(`database: ${this.config.databaseUrl ? redactUrl(this.config.databaseUrl) : this.config.sqlitePath}`);
    this.live.setHostsSource(() => this.hosts.views());
    this.hosts.onChange(() => this.live.hostsChanged());
    this.scheduler.firstSeqOf = (runId) => this.ingest.sealForNewAttempt(runId);
    await this.hosts.load();
    await this.runs.boot();
    await this.broker.bind(this.config.zmqBind);
    // Binding to port * (tests) picks a free port: the local worker must connect to that one.
    if (/:\*$|:0$/.test(this.config.zmqBind) && !this.config.zmqConnect) this.config.zmqConnect = this.broker.endpoint?.replace('0.0.0.0', '127.0.0.1') ?? undefined;
    this.link.start();
    if (this.config.localWorker) this.localWorker.start();
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.log.log(`shutting down${signal ? ` (${signal})` : ''}`);
    if (this.config.localWorker) {
      const hostId = this.localWorker.workerId();
      const n = hostId ? await this.runs.interruptHost(hostId, signal ?? 'shutdown') : 0;
      if (n) this.log.log(`${n} run(s) on the local worker will resume at the next start`);
    }
    await this.localWorker.stop();
    this.scheduler.stop();
    this.runs.stop();
    // Give the last messages of stopped trainers a moment to arrive, then store them.
    await new Promise((r) => setTimeout(r, 200));
    await this.ingest.drain();
    this.link.stop();
    await this.broker.close();
    this.live.close();
    if (this.ds.isInitialized) await this.ds.destroy();
    this.log.log('stopped cleanly');
  }
}
