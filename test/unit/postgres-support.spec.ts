import { afterEach, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import pg from 'pg';
import { MISSING_POSTGRES_MESSAGE, postgresBinDir, requirePostgres, startPostgres } from '../support/postgres.js';

const saved = { bin: process.env.TRAINYARD_PG_BIN, req: process.env.TRAINYARD_REQUIRE_PG, ci: process.env.CI };
function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
afterEach(() => {
  restore('TRAINYARD_PG_BIN', saved.bin);
  restore('TRAINYARD_REQUIRE_PG', saved.req);
  restore('CI', saved.ci);
});

describe('requirePostgres without binaries', () => {
  it('throws a clear error when PostgreSQL is required', () => {
    process.env.TRAINYARD_PG_BIN = '/nonexistent/postgresql/bin';
    delete process.env.CI;
    process.env.TRAINYARD_REQUIRE_PG = '1';
    expect(() => requirePostgres()).toThrow(MISSING_POSTGRES_MESSAGE);
    delete process.env.TRAINYARD_REQUIRE_PG;
    process.env.CI = 'true';
    expect(() => requirePostgres()).toThrow('PostgreSQL 15 binaries not found; install postgresql');
  });

  it('lets tests skip, and startPostgres return null, on a developer machine', async () => {
    process.env.TRAINYARD_PG_BIN = '/nonexistent/postgresql/bin';
    delete process.env.CI;
    delete process.env.TRAINYARD_REQUIRE_PG;
    expect(requirePostgres()).toBe(false);
    await expect(startPostgres()).resolves.toBeNull();
  });
});

// npm test sets TRAINYARD_REQUIRE_PG=1, so there this runs or fails; it never silently skips.
const describePg = requirePostgres() ? describe : describe.skip;

describePg(`a throwaway PostgreSQL from ${postgresBinDir()}`, () => {
  it('starts, answers SELECT 1 in the trainyard database, and is gone after stop()', async () => {
    const server = await startPostgres();
    expect(server).not.toBeNull();
    const { url, port, stop } = server!;
    expect(url).toBe(`postgres://postgres@127.0.0.1:${port}/trainyard`);

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    let dataDir: string;
    try {
      const res = await client.query('SELECT 1 AS one, current_database() AS db, current_setting($1) AS fsync', ['fsync']);
      expect(res.rows).toEqual([{ one: 1, db: 'trainyard', fsync: 'off' }]);
      const version = await client.query('SHOW server_version_num');
      expect(Math.floor(Number(version.rows[0].server_version_num) / 10000)).toBe(15);
      dataDir = (await client.query('SHOW data_directory')).rows[0].data_directory;
    } finally {
      await client.end();
    }
    expect(existsSync(dataDir)).toBe(true);

    await stop();
    expect(existsSync(dataDir)).toBe(false);
    const after = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    await expect(after.connect()).rejects.toThrow();
    await stop(); // idempotent
  }, 90_000);

  it('runs two servers side by side on different ports', async () => {
    const [a, b] = await Promise.all([startPostgres(), startPostgres()]);
    try {
      expect(a!.port).not.toBe(b!.port);
      for (const s of [a!, b!]) {
        const client = new pg.Client({ connectionString: s.url });
        await client.connect();
        await client.query('CREATE TABLE t (port int)');
        await client.query('INSERT INTO t VALUES ($1)', [s.port]);
        const res = await client.query('SELECT port FROM t');
        expect(res.rows).toEqual([{ port: s.port }]);
        await client.end();
      }
    } finally {
      await Promise.all([a?.stop(), b?.stop()]);
    }
  }, 120_000);
});
