import { Module, type DynamicModule } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { LocalWorkerSupervisor } from '../bridge/local-worker.supervisor.js';
import { PythoniaService } from '../bridge/pythonia.service.js';
import { WorkerCommands } from '../bridge/worker-commands.service.js';
import { WorkerLinkService } from '../bridge/worker-link.service.js';
import { ZmqBroker } from '../bridge/zmq-broker.adapter.js';
import { AppConfig } from '../config/app-config.js';
import { ExperimentsController, PresetsController } from '../experiments/experiments.controller.js';
import { ExperimentsService } from '../experiments/experiments.service.js';
import { HostsController } from '../hosts/hosts.controller.js';
import { DatasetsController } from '../env/datasets.controller.js';
import { HostsService } from '../hosts/hosts.service.js';
import { CatchUpService } from '../live/catch-up.service.js';
import { LiveGateway } from '../live/live.gateway.js';
import { LiveService } from '../live/live.service.js';
import { IngestService } from '../metrics/ingest.service.js';
import { MetricsController } from '../metrics/metrics.controller.js';
import { ExportController } from '../metrics/export.controller.js';
import { MetricsQueryService } from '../metrics/metrics-query.service.js';
import { ComparisonService } from '../metrics/comparison.service.js';
import { RunPublisher } from '../runs/run-publisher.service.js';
import { RunsController } from '../runs/runs.controller.js';
import { RunsService } from '../runs/runs.service.js';
import { SchedulerService } from '../runs/scheduler.service.js';
import { QueueController } from '../runs/queue.controller.js';
import { openDatabase } from '../storage/data-source.js';
import { HostsRepository } from '../storage/hosts.repository.js';
import { MetricsRepository } from '../storage/metrics.repository.js';
import { RunsRepository } from '../storage/runs.repository.js';
import { Lifecycle } from './lifecycle.service.js';

/**
 * One module: the parts are folders with a strict dependency order (storage <- hosts/live <- runs <-
 * metrics/bridge), and a single DI scope keeps boot and shutdown ordering in one place (Lifecycle).
 */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      controllers: [RunsController, QueueController, ExperimentsController, PresetsController, HostsController, MetricsController, ExportController, DatasetsController],
      providers: [
        { provide: AppConfig, useValue: config },
        { provide: DataSource, useFactory: () => openDatabase({ sqlitePath: config.sqlitePath, databaseUrl: config.databaseUrl }) },
        { provide: ZmqBroker, useFactory: () => new ZmqBroker(config.workerKey) },
        RunsRepository,
        HostsRepository,
        MetricsRepository,
        HostsService,
        LiveService,
        CatchUpService,
        LiveGateway,
        RunPublisher,
        WorkerCommands,
        SchedulerService,
        RunsService,
        ExperimentsService,
        IngestService,
        MetricsQueryService,
        ComparisonService,
        PythoniaService,
        WorkerLinkService,
        LocalWorkerSupervisor,
        Lifecycle,
      ],
    };
  }
}
