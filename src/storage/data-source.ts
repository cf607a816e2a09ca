// Builds the TypeORM DataSource: embedded SQLite (better-sqlite3, WAL) by default, PostgreSQL when a
// DATABASE_URL is given. Schema comes only from migrations (never synchronize), so both databases
// get exactly the same, reviewed DDL.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities.js';
import { MIGRATIONS } from './migrations/index.js';

export interface DatabaseTarget {
  sqlitePath?: string;
  databaseUrl?: string;
}

export function dataSourceOptions(target: DatabaseTarget): DataSourceOptions {
  if (target.databaseUrl) {
    return {
      type: 'postgres',
      url: target.databaseUrl,
      entities: ENTITIES,
      migrations: MIGRATIONS,
      migrationsRun: false,
      synchronize: false,
      logging: ['error'],
      extra: { max: 10 },
    };
  }
  const path = target.sqlitePath ?? ':memory:';
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  return {
    type: 'better-sqlite3',
    database: path,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    logging: ['error'],
    // WAL lets readers (REST, catch-up) proceed while the ingest transaction writes.
    prepareDatabase: (db: { pragma(s: string): unknown }) => {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      db.pragma('foreign_keys = ON');
    },
  };
}

/** Opens the database and applies pending migrations. */
export async function openDatabase(target: DatabaseTarget): Promise<DataSource> {
  const ds = new DataSource(dataSourceOptions(target));
  await ds.initialize();
  await ds.runMigrations({ transaction: 'each' });
  return ds;
}
