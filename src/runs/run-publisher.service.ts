// Turns stored runs into RunViews for REST and live updates (experiment names and live progress).
import { Injectable } from '@nestjs/common';
import type { RunView } from '../contracts/api.js';
import { HostsService } from '../hosts/hosts.service.js';
import { LiveService } from '../live/live.service.js';
import type { RunEntity } from '../storage/entities.js';
import { RunsRepository } from '../storage/runs.repository.js';
import { toRunView } from './run.view.js';

@Injectable()
export class RunPublisher {
  private readonly names = new Map<string, string>();
  /** Why each queued run waits (from the scheduler's last pass). */
  readonly waitReasons = new Map<string, string>();

  constructor(
    private readonly repo: RunsRepository,
    private readonly hosts: HostsService,
    private readonly live: LiveService,
  ) {}

  rememberExperiment(id: string, name: string): void {
    this.names.set(id, name);
  }

  async views(runs: RunEntity[]): Promise<RunView[]> {
    const missing = runs.map((r) => r.experiment_id).filter((id) => !this.names.has(id));
    if (missing.length) for (const [id, name] of await this.repo.experimentNames(missing)) this.names.set(id, name);
    return runs.map((r) =>
      toRunView(
        r,
        this.names.get(r.experiment_id) ?? '',
        r.host_id && (r.status === 'running' || r.status === 'assigned') ? this.hosts.progressOf(r.host_id, r.id) : null,
        this.waitReasons.get(r.id) ?? null,
      ),
    );
  }

  async view(run: RunEntity): Promise<RunView> {
    return (await this.views([run]))[0];
  }

  async publish(run: RunEntity): Promise<void> {
    this.live.run(await this.view(run));
  }
}
