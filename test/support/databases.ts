// The databases every storage-touching e2e suite runs against: the embedded SQLite file always, and a
// throwaway PostgreSQL server when its binaries are present (required under CI / npm test).
import { afterAll } from '@jest/globals';
import { requirePostgres, startPostgres, type PostgresServer } from './postgres.js';

export interface TestDatabase {
  name: 'sqlite' | 'postgres';
  /** undefined = SQLite (startSystem makes a fresh file); otherwise a PostgreSQL URL. */
  url(): Promise<string | undefined>;
}

/** Call at module level of a test file; PostgreSQL is started lazily and stopped after the file. */
export function testDatabases(): TestDatabase[] {
  const list: TestDatabase[] = [{ name: 'sqlite', url: async () => undefined }];
  let pg: PostgresServer | null = null;
  if (requirePostgres()) {
    list.push({
      name: 'postgres',
      url: async () => {
        pg ??= await startPostgres();
        if (!pg) throw new Error('PostgreSQL did not start');
        return pg.url;
      },
    });
  }
  afterAll(async () => {
    await pg?.stop();
  });
  return list;
}
