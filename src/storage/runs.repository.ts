// All database I/O for experiments, runs and their transitions.
import { Injectable } from '@nestjs/common';
import { DataSource, In, type EntityManager } from 'typeorm';
import type { RunStatus } from '../contracts/api.js';
import { ExperimentEntity, RunEntity, RunTransitionEntity } from './entities.js';

export interface RunFilter {
  status?: RunStatus[];
  experiment_id?: string;
  host_id?: string;
  tag?: string;
  limit: number;
  offset: number;
  sort: 'created_at' | '-created_at' | 'name' | '-name' | 'status' | 'priority' | '-priority';
}

@Injectable()
export class RunsRepository {
  constructor(private readonly ds: DataSource) {}

  /** Stores an experiment and all its runs (queued) in one transaction: nothing is dispatched unstored. */
  async createExperiment(exp: ExperimentEntity, runs: RunEntity[]): Promise<void> {
    // Inserts copies: after a multi-row insert TypeORM (on SQLite) reloads default columns and writes
    // them back by position in primary-key order, so the caller's objects could swap ids.
    const rows = runs.map((r) => Object.assign(new RunEntity(), r));
    await this.ds.transaction(async (m) => {
      await m.insert(ExperimentEntity, Object.assign(new ExperimentEntity(), exp));
      for (let i = 0; i < rows.length; i += 200) await m.insert(RunEntity, rows.slice(i, i + 200));
      const transitions = runs.map((r) => ({ run_id: r.id, from_status: null, to_status: r.status, reason: r.reason, at: r.created_at }));
      for (let i = 0; i < transitions.length; i += 200) await m.insert(RunTransitionEntity, transitions.slice(i, i + 200));
    });
  }

  findRun(id: string): Promise<RunEntity | null> {
    return this.ds.getRepository(RunEntity).findOneBy({ id });
  }

  findRuns(ids: string[]): Promise<RunEntity[]> {
    if (!ids.length) return Promise.resolve([]);
    return this.ds.getRepository(RunEntity).findBy({ id: In(ids) });
  }

  findByStatus(statuses: RunStatus[]): Promise<RunEntity[]> {
    return this.ds.getRepository(RunEntity).find({ where: { status: In(statuses) }, order: { queued_at: 'ASC' } });
  }

  findExperiment(id: string): Promise<ExperimentEntity | null> {
    return this.ds.getRepository(ExperimentEntity).findOneBy({ id });
  }

  async experimentNames(ids: string[]): Promise<Map<string, string>> {
    const unique = [...new Set(ids)];
    if (!unique.length) return new Map();
    const rows = await this.ds.getRepository(ExperimentEntity).find({ select: { id: true, name: true }, where: { id: In(unique) } });
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  listExperiments(includeArchived: boolean): Promise<ExperimentEntity[]> {
    return this.ds.getRepository(ExperimentEntity).find({ where: includeArchived ? {} : { archived: false }, order: { created_at: 'DESC' } });
  }

  async setArchived(id: string, archived: boolean): Promise<boolean> {
    const r = await this.ds.getRepository(ExperimentEntity).update({ id }, { archived });
    return (r.affected ?? 0) > 0;
  }

  async runIdsOfExperiments(ids: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>(ids.map((i) => [i, []]));
    if (!ids.length) return out;
    const rows = await this.ds.getRepository(RunEntity).find({ select: { id: true, experiment_id: true, created_at: true }, where: { experiment_id: In(ids) }, order: { created_at: 'ASC' } });
    for (const r of rows) out.get(r.experiment_id)?.push(r.id);
    return out;
  }

  async listRuns(f: RunFilter): Promise<{ items: RunEntity[]; total: number }> {
    const qb = this.ds.getRepository(RunEntity).createQueryBuilder('r');
    if (f.status?.length) qb.andWhere('r.status IN (:...status)', { status: f.status });
    if (f.experiment_id) qb.andWhere('r.experiment_id = :exp', { exp: f.experiment_id });
    if (f.host_id) qb.andWhere('r.host_id = :host', { host: f.host_id });
    if (f.tag) {
      qb.innerJoin(ExperimentEntity, 'e', 'e.id = r.experiment_id').andWhere('e.tags LIKE :tag', { tag: `%${JSON.stringify(f.tag)}%` });
    }
    const desc = f.sort.startsWith('-');
    const col = f.sort.replace('-', '') as 'created_at' | 'name' | 'status' | 'priority';
    qb.orderBy(`r.${col}`, desc ? 'DESC' : 'ASC').addOrderBy('r.id', 'ASC');
    const [items, total] = await qb.skip(f.offset).take(f.limit).getManyAndCount();
    return { items, total };
  }

  /**
   * Moves a run from one status to another only if it is still in `from` (compare-and-set), and records
   * the transition. Returns the updated run, or null when the run was no longer in `from`.
   */
  async transition(
    id: string,
    from: RunStatus | RunStatus[],
    to: RunStatus,
    reason: string | null,
    patch: Partial<RunEntity> = {},
    manager?: EntityManager,
  ): Promise<RunEntity | null> {
    const run = async (m: EntityManager) => {
      const froms = Array.isArray(from) ? from : [from];
      const current = await m.findOneBy(RunEntity, { id });
      if (!current || !froms.includes(current.status)) return null;
      const res = await m.update(RunEntity, { id, status: current.status }, { ...patch, status: to, reason });
      if ((res.affected ?? 0) === 0) return null;
      await m.insert(RunTransitionEntity, { run_id: id, from_status: current.status, to_status: to, reason, at: Date.now() });
      return { ...current, ...patch, status: to, reason } as RunEntity;
    };
    return manager ? run(manager) : this.ds.transaction(run);
  }

  async update(id: string, patch: Partial<RunEntity>, manager?: EntityManager): Promise<void> {
    await (manager ?? this.ds.manager).update(RunEntity, { id }, patch);
  }

  transitions(runId: string): Promise<RunTransitionEntity[]> {
    return this.ds.getRepository(RunTransitionEntity).find({ where: { run_id: runId }, order: { id: 'ASC' } });
  }
}
