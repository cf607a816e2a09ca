// A throwaway PostgreSQL 15 server per test file, so the storage tests also run against PostgreSQL
// without any server or credentials set up on the machine.
//
//   const pgAvailable = requirePostgres();          // throws in CI when the binaries are missing
//   (pgAvailable ? describe : describe.skip)('on PostgreSQL', () => {
//     let pg: PostgresServer;
//     beforeAll(async () => { pg = (await startPostgres())!; }, 60_000);
//     afterAll(() => pg?.stop());
//   });
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const run = promisify(execFile);

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:PORT/trainyard (trust auth, no password). */
  url: string;
  port: number;
  /** Stops the server (immediate mode) and deletes its data directory. Safe to call twice. */
  stop(): Promise<void>;
}

export const MISSING_POSTGRES_MESSAGE = 'PostgreSQL 15 binaries not found; install postgresql';

/** Where initdb, pg_ctl and createdb live; TRAINYARD_PG_BIN overrides Debian's path. */
export function postgresBinDir(): string {
  return process.env.TRAINYARD_PG_BIN || '/usr/lib/postgresql/15/bin';
}

export function postgresBinariesPresent(): boolean {
  const dir = postgresBinDir();
  return ['initdb', 'pg_ctl', 'postgres', 'createdb'].every((b) => existsSync(join(dir, b)));
}

/** CI (and `npm test`, which sets TRAINYARD_REQUIRE_PG=1) must not silently skip PostgreSQL. */
export function postgresRequired(): boolean {
  const ci = (process.env.CI ?? '').toLowerCase();
  return ci === 'true' || ci === '1' || process.env.TRAINYARD_REQUIRE_PG === '1';
}

/**
 * True when PostgreSQL tests can run; false when they may be skipped (binaries missing on a
 * developer machine). Throws when the binaries are missing but PostgreSQL is required.
 */
export function requirePostgres(): boolean {
  if (postgresBinariesPresent()) return true;
  if (postgresRequired()) {
    throw new Error(`${MISSING_POSTGRES_MESSAGE} (looked for initdb, pg_ctl, postgres, createdb in ${postgresBinDir()}; ` +
      'on Debian 12: apt-get install postgresql-15, or set TRAINYARD_PG_BIN)');
  }
  return false;
}

interface Runner {
  /** Runs a PostgreSQL binary as the user that owns the cluster. */
  asOwner(bin: string, args: string[]): Promise<void>;
  ownerIds?: { uid: number; gid: number };
}

async function ownerRunner(): Promise<Runner> {
  if (process.getuid?.() !== 0) return { asOwner: async (bin, args) => void (await run(bin, args)) };
  // initdb and postgres refuse to run as root: the cluster belongs to Debian's `postgres` user.
  let uid: number;
  let gid: number;
  try {
    uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  } catch {
    throw new Error('running as root but there is no `postgres` user to own the test cluster (install postgresql-15)');
  }
  return {
    asOwner: async (bin, args) => void (await run('runuser', ['-u', 'postgres', '--', bin, ...args])),
    ownerIds: { uid, gid },
  };
}

function describeFailure(what: string, err: unknown, log?: string): Error {
  const e = err as { stderr?: string; message?: string };
  const detail = (e.stderr || e.message || String(err)).trim();
  return new Error(`startPostgres: ${what} failed: ${detail}${log ? `\n--- server log ---\n${log.trim()}` : ''}`);
}

async function readLog(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}

/**
 * A watchdog outside the test process: if the test process dies without calling stop() (a crash,
 * a timeout kill), it stops the server and deletes the cluster, so no postgres is left running.
 */
function startWatchdog(pgCtl: string, dataDir: string, base: string, asRoot: boolean): number | undefined {
  const stopCmd = asRoot ? 'runuser -u postgres -- "$2" -D "$3" -m immediate stop' : '"$2" -D "$3" -m immediate stop';
  const script = `while kill -0 "$1" 2>/dev/null; do sleep 1; done; ${stopCmd} >/dev/null 2>&1; rm -rf "$4"`;
  const child = spawn('sh', ['-c', script, 'trainyard-pg-watchdog', String(process.pid), pgCtl, dataDir, base], {
    detached: true,
    stdio: 'ignore',
  });
  child.on('error', () => undefined);
  child.unref();
  return child.pid;
}

/**
 * Starts a fresh PostgreSQL 15 cluster in a new temp directory on a free 127.0.0.1 port, with a
 * `trainyard` database. Returns null when the binaries are missing (see requirePostgres()).
 */
export async function startPostgres(): Promise<PostgresServer | null> {
  if (!postgresBinariesPresent()) return null;
  const bin = postgresBinDir();
  const runner = await ownerRunner();
  const base = await mkdtemp(join(tmpdir(), 'trainyard-pg-'));
  const dataDir = join(base, 'data');
  const logFile = join(base, 'server.log');
  const pgCtl = join(bin, 'pg_ctl');
  let started = false;
  let watchdog: number | undefined;

  const stop = async (): Promise<void> => {
    if (watchdog !== undefined) {
      try {
        process.kill(watchdog);
      } catch {
        // already gone
      }
      watchdog = undefined;
    }
    if (started) {
      started = false;
      try {
        await runner.asOwner(pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // not running any more; the directory still goes
      }
    }
    await rm(base, { recursive: true, force: true });
  };

  try {
    await mkdir(dataDir, { mode: 0o700 });
    if (runner.ownerIds) {
      await chown(base, runner.ownerIds.uid, runner.ownerIds.gid);
      await chown(dataDir, runner.ownerIds.uid, runner.ownerIds.gid);
    }
    try {
      // --no-sync and C locale: a disposable cluster needs neither durability nor the host's locales.
      await runner.asOwner(join(bin, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8',
        '--locale=C', '--no-sync']);
    } catch (err) {
      throw describeFailure('initdb', err);
    }

    // The port is free when chosen but another process may take it first: retry on a new one.
    let port = 0;
    for (let attempt = 1; !started; attempt++) {
      port = await freePort();
      const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${base} -c fsync=off ` +
        '-c synchronous_commit=off -c full_page_writes=off';
      try {
        await runner.asOwner(pgCtl, ['-D', dataDir, '-l', logFile, '-o', options, '-w', '-t', '60', 'start']);
        started = true;
      } catch (err) {
        const log = await readLog(logFile);
        if (attempt < 3 && /could not (bind|create listen)|already in use/i.test(log)) continue;
        throw describeFailure('pg_ctl start', err, log);
      }
    }
    watchdog = startWatchdog(pgCtl, dataDir, base, runner.ownerIds !== undefined);

    try {
      await run(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'trainyard']);
    } catch (err) {
      throw describeFailure('createdb trainyard', err, await readLog(logFile));
    }
    return { url: `postgres://postgres@127.0.0.1:${port}/trainyard`, port, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
