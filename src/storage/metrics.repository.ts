// Database I/O for everything a run reports: message receipts (exactly-once by (run_id, seq)),
// metric points (multi-row inserts), evaluations, logs and checkpoints.
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { MetricPoint } from '../contracts/wire.js';
import { CheckpointEntity, EvaluationEntity, RunEntity, RunLogEntity } from './entities.js';

export interface StoredPoint extends MetricPoint {
  seq: number;
}

const POINT_ROWS_PER_STATEMENT = 2000;
const SQLITE_ROWS_PER_RUN = 128;

@Injectable()
export class MetricsRepository {
  readonly dialect: 'sqlite' | 'postgres';

  constructor(private readonly ds: DataSource) {
    this.dialect = ds.options.type === 'postgres' ? 'postgres' : 'sqlite';
  }

  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.ds.transaction(fn);
  }

  /** Of the given (run, seq) pairs, those already stored. */
  async existingSeqs(m: EntityManager, runId: string, seqs: number[]): Promise<Set<number>> {
    if (!seqs.length) return new Set();
    const out = new Set<number>();
    for (let i = 0; i < seqs.length; i += 5000) {
      const chunk = seqs.slice(i, i + 5000);
      const ph = chunk.map((_, j) => this.ph(j + 2)).join(',');
      const rows: { seq: number }[] = await m.query(`SELECT seq FROM run_messages WHERE run_id = ${this.ph(1)} AND seq IN (${ph})`, [runId, ...chunk]);
      for (const r of rows) out.add(Number(r.seq));
    }
    return out;
  }

  async insertReceipts(m: EntityManager, rows: { run_id: string; seq: number; type: string }[]): Promise<void> {
    const now = Date.now();
    await this.multiInsert(m, 'run_messages', ['run_id', 'seq', 'type', 'received_at'], rows.map((r) => [r.run_id, r.seq, r.type, now]));
  }

  /**
   * The hot path. SQLite: one cached prepared statement run per row inside the caller's transaction
   * (better-sqlite3 is synchronous, so this is a tight loop with no SQL parsing). PostgreSQL: one
   * INSERT ... SELECT FROM unnest() per chunk, 7 array parameters instead of 7 per row.
   */
  async insertPoints(m: EntityManager, runId: string, points: StoredPoint[]): Promise<void> {
    if (!points.length) return;
    if (this.dialect === 'sqlite') {
      // Rows go in 128 at a time through one cached multi-row statement: far fewer JS<->C crossings.
      const many = this.sqlitePointInsert(SQLITE_ROWS_PER_RUN);
      const one = this.sqlitePointInsert(1);
      const args: unknown[] = new Array(SQLITE_ROWS_PER_RUN * 7);
      let i = 0;
      for (; i + SQLITE_ROWS_PER_RUN <= points.length; i += SQLITE_ROWS_PER_RUN) {
        for (let j = 0; j < SQLITE_ROWS_PER_RUN; j++) {
          const p = points[i + j];
          const o = j * 7;
          args[o] = runId;
          args[o + 1] = p.seq;
          args[o + 2] = p.key;
          args[o + 3] = p.step;
          args[o + 4] = p.epoch;
          args[o + 5] = p.value;
          args[o + 6] = p.wall_time;
        }
        many.run(...args);
      }
      for (; i < points.length; i++) {
        const p = points[i];
        one.run(runId, p.seq, p.key, p.step, p.epoch, p.value, p.wall_time);
      }
      return;
    }
    for (let i = 0; i < points.length; i += 50_000) {
      const chunk = points.slice(i, i + 50_000);
      await m.query(
        'INSERT INTO metric_points (run_id, seq, key, step, epoch, value, wall_time) ' +
          'SELECT $1::varchar, * FROM unnest($2::int[], $3::varchar[], $4::int[], $5::int[], $6::float8[], $7::float8[])',
        [runId, chunk.map((p) => p.seq), chunk.map((p) => p.key), chunk.map((p) => p.step), chunk.map((p) => p.epoch), chunk.map((p) => p.value), chunk.map((p) => p.wall_time)],
      );
    }
  }

  private readonly pointInserts = new Map<number, { run(...args: unknown[]): unknown }>();

  private sqlitePointInsert(rows: number): { run(...args: unknown[]): unknown } {
    let stmt = this.pointInserts.get(rows);
    if (!stmt) {
      const db = (this.ds.driver as unknown as { databaseConnection: { prepare(sql: string): { run(...args: unknown[]): unknown } } }).databaseConnection;
      const tuple = '(?, ?, ?, ?, ?, ?, ?)';
      stmt = db.prepare(`INSERT INTO metric_points (run_id, seq, key, step, epoch, value, wall_time) VALUES ${Array(rows).fill(tuple).join(', ')}`);
      this.pointInserts.set(rows, stmt);
    }
    return stmt;
  }

  async insertLogs(m: EntityManager, rows: Omit<RunLogEntity, 'id'>[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 200) await m.insert(RunLogEntity, rows.slice(i, i + 200));
  }

  async insertEvaluation(m: EntityManager, row: Omit<EvaluationEntity, 'id'>): Promise<void> {
    await m.insert(EvaluationEntity, row);
  }

  async insertCheckpoint(m: EntityManager, row: Omit<CheckpointEntity, 'id'>): Promise<void> {
    await m.insert(CheckpointEntity, row);
  }

  /** Seqs stored above `after` for a run (to rebuild the contiguous ack point after a restart). */
  async seqsAbove(runId: string, after: number): Promise<number[]> {
    const rows: { seq: number }[] = await this.ds.query(
      `SELECT seq FROM run_messages WHERE run_id = ${this.ph(1)} AND seq > ${this.ph(2)} ORDER BY seq`,
      [runId, after],
    );
    return rows.map((r) => Number(r.seq));
  }

  async lastSeq(runId: string): Promise<number> {
    const r = await this.ds.getRepository(RunEntity).findOne({ select: { id: true, last_seq: true }, where: { id: runId } });
    return r?.last_seq ?? 0;
  }

  /**
   * All points of a run, oldest message first. When a resumed attempt re-reports a (key, step), the
   * later report wins, so charts never show the same step twice.
   */
  async points(runId: string, afterSeq = 0, keys?: string[]): Promise<StoredPoint[]> {
    const params: unknown[] = [runId, afterSeq];
    let keyFilter = '';
    if (keys?.length) {
      keyFilter = ` AND key IN (${keys.map((_, i) => this.ph(i + 3)).join(',')})`;
      params.push(...keys);
    }
    const rows: StoredPoint[] = await this.ds.query(
      `SELECT seq, key, step, epoch, value, wall_time FROM metric_points WHERE run_id = ${this.ph(1)} AND seq > ${this.ph(2)}${keyFilter} ORDER BY seq, id`,
      params,
    );
    return rows.map((r) => ({ seq: Number(r.seq), key: r.key, step: Number(r.step), epoch: Number(r.epoch), value: Number(r.value), wall_time: Number(r.wall_time) }));
  }

  evaluations(runId: string, afterSeq = 0): Promise<EvaluationEntity[]> {
    return this.ds
      .getRepository(EvaluationEntity)
      .createQueryBuilder('e')
      .where('e.run_id = :runId AND e.seq > :afterSeq', { runId, afterSeq })
      .orderBy('e.seq', 'ASC')
      .getMany();
  }

  logs(runId: string, afterSeq = 0, limit = 1000): Promise<RunLogEntity[]> {
    return this.ds
      .getRepository(RunLogEntity)
      .createQueryBuilder('l')
      .where('l.run_id = :runId AND l.seq > :afterSeq', { runId, afterSeq })
      .orderBy('l.seq', 'ASC')
      .take(limit)
      .getMany();
  }

  checkpoints(runId: string): Promise<CheckpointEntity[]> {
    return this.ds.getRepository(CheckpointEntity).find({ where: { run_id: runId }, order: { seq: 'ASC' } });
  }

  private ph(i: number): string {
    return this.dialect === 'postgres' ? `$${i}` : '?';
  }

  private async multiInsert(m: EntityManager, table: string, cols: string[], rows: unknown[][]): Promise<void> {
    if (!rows.length) return;
    const head = `INSERT INTO ${table} (${cols.join(', ')}) VALUES `;
    for (let i = 0; i < rows.length; i += POINT_ROWS_PER_STATEMENT) {
      const chunk = rows.slice(i, i + POINT_ROWS_PER_STATEMENT);
      const params: unknown[] = [];
      const tuples: string[] = [];
      let n = 1;
      for (const row of chunk) {
        const ph: string[] = [];
        for (const v of row) {
          params.push(v);
          ph.push(this.ph(n++));
        }
        tuples.push(`(${ph.join(',')})`);
      }
      await m.query(head + tuples.join(','), params);
    }
  }
}
