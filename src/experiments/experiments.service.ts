// Creating experiments: validate and expand the document (pure, in parse-document.ts), store the
// experiment with all its runs queued in one transaction, then let the scheduler place them.
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { ExperimentView, RunView } from '../contracts/api.js';
import { RunPublisher } from '../runs/run-publisher.service.js';
import { RunsService } from '../runs/runs.service.js';
import { SchedulerService } from '../runs/scheduler.service.js';
import { ExperimentEntity, RunEntity } from '../storage/entities.js';
import { RunsRepository } from '../storage/runs.repository.js';
import { parseExperimentDocument } from './parse-document.js';
import { listPresets, presetDocument } from './presets.js';

export class ExperimentValidationError extends Error {
  constructor(readonly errors: { path: string; message: string }[]) {
    super(`invalid experiment: ${errors.length} error(s): ${errors.slice(0, 5).map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  }
}
export class ExperimentNotFoundError extends Error {}

@Injectable()
export class ExperimentsService {
  constructor(
    private readonly repo: RunsRepository,
    private readonly runs: RunsService,
    private readonly scheduler: SchedulerService,
    private readonly publisher: RunPublisher,
  ) {}

  async create(input: unknown, format?: 'json' | 'yaml'): Promise<{ experiment: ExperimentView; runs: RunView[] }> {
    const parsed = parseExperimentDocument(input, format);
    if (!parsed.ok) throw new ExperimentValidationError(parsed.errors);
    const now = Date.now();
    const doc = parsed.document as unknown as Record<string, unknown> & { name: string; description?: string; tags?: string[] };
    const exp: ExperimentEntity = Object.assign(new ExperimentEntity(), {
      id: randomUUID(),
      name: doc.name,
      description: doc.description ?? null,
      tags: doc.tags ?? [],
      document: doc,
      archived: false,
      created_at: now,
    });
    const runs: RunEntity[] = parsed.runs.map((r, i) =>
      Object.assign(new RunEntity(), {
        id: randomUUID(),
        experiment_id: exp.id,
        name: r.name,
        status: 'queued' as const,
        reason: null,
        attempt: 0,
        priority: r.spec.priority,
        // Keeps the document's order for equal priority (FIFO) even within one millisecond.
        queued_at: now + i / 1000,
        host_id: null,
        devices: [],
        spec: r.spec,
        spec_hash: r.spec_hash,
        epochs_completed: 0,
        last_seq: 0,
        last: {},
        checkpoint_path: null,
        checkpoint_host: null,
        created_at: now + i / 1000,
        started_at: null,
        ended_at: null,
      }),
    );
    await this.repo.createExperiment(exp, runs);
    this.publisher.rememberExperiment(exp.id, exp.name);
    for (const r of runs) await this.runs.publish(r);
    this.scheduler.kick();
    return { experiment: this.view(exp, runs.map((r) => r.id)), runs: await this.publisher.views(runs) };
  }

  async launchPreset(name: string, profile: string, overrides: Record<string, unknown> = {}) {
    const doc = presetDocument(name, profile);
    return this.create({ ...doc, ...overrides });
  }

  presets() {
    return listPresets();
  }

  async list(includeArchived = false): Promise<ExperimentView[]> {
    const exps = await this.repo.listExperiments(includeArchived);
    const runIds = await this.repo.runIdsOfExperiments(exps.map((e) => e.id));
    return exps.map((e) => this.view(e, runIds.get(e.id) ?? []));
  }

  async get(id: string): Promise<ExperimentView & { document: Record<string, unknown> }> {
    const e = await this.repo.findExperiment(id);
    if (!e) throw new ExperimentNotFoundError(`experiment ${id} not found`);
    const runIds = await this.repo.runIdsOfExperiments([id]);
    return { ...this.view(e, runIds.get(id) ?? []), document: e.document as Record<string, unknown> };
  }

  async archive(id: string, archived: boolean): Promise<ExperimentView> {
    if (!(await this.repo.setArchived(id, archived))) throw new ExperimentNotFoundError(`experiment ${id} not found`);
    return this.get(id);
  }

  private view(e: ExperimentEntity, runIds: string[]): ExperimentView {
    return { id: e.id, name: e.name, created_at: new Date(e.created_at).toISOString(), archived: e.archived, run_ids: runIds };
  }
}
