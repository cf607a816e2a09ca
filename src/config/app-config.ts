// Environment validated once at boot. Every variable is listed in README.md with its default.
import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Max, Min, MinLength, validateSync } from 'class-validator';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (two levels above dist/src/config or src/config). */
export const REPO_ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (dir !== '/' && !existsSync(resolve(dir, 'package.json'))) dir = dirname(dir);
  return dir;
})();

const toInt = ({ value }: { value: unknown }) => (value === undefined || value === '' ? undefined : Number(value));
const toBool = ({ value }: { value: unknown }) =>
  value === undefined || value === '' ? undefined : ['1', 'true', 'yes', 'on'].includes(String(value).toLowerCase());

export class AppConfig {
  @IsString() host = '127.0.0.1';
  @Transform(toInt) @IsInt() @Min(0) @Max(65535) port = 3000;
  /** ZeroMQ ROUTER endpoint the broker binds. */
  @IsString() zmqBind = 'tcp://127.0.0.1:5555';
  /** What the local worker connects to (derived from zmqBind when empty). */
  @IsString() @IsOptional() zmqConnect?: string;
  /** SQLite file (ignored when databaseUrl is set); defaults to trainyard.sqlite in varDir. */
  @IsString() @IsOptional() sqlitePath?: string;
  @IsString() @IsOptional() databaseUrl?: string;
  /** Shared HMAC key of the worker protocol; generated into var/worker.key on first start when unset. */
  @IsString() @MinLength(16) workerKey: string;
  @IsString() python = '/usr/bin/python3';
  @Transform(toBool) @IsBoolean() localWorker = true;
  @Transform(toInt) @IsInt() @Min(1) @Max(64) localCpuSlots = 1;
  @Transform(toInt) @IsInt() @Min(100) @Max(60000) heartbeatMs = 1000;
  @Transform(toInt) @IsInt() @Min(2) @Max(20) liveness = 3;
  @IsString() varDir = 'var';
  @IsIn(['error', 'warn', 'log', 'debug']) logLevel: 'error' | 'warn' | 'log' | 'debug' = 'log';
  /** Live fan-out: metric deltas to a room are coalesced at most this often. */
  @Transform(toInt) @IsInt() @Min(0) @Max(5000) liveThrottleMs = 100;
  @Transform(toInt) @IsInt() @Min(1000) @Max(600000) pythoniaTimeoutMs = 60000;
  /** Device stats from heartbeats are stored at most this often per host (history on the hosts page). */
  @Transform(toInt) @IsInt() @Min(100) @Max(3600000) deviceSampleMs = 10000;
  /** An assignment no worker answered within this long is placed again. */
  @Transform(toInt) @IsInt() @Min(100) @Max(600000) assignTimeoutMs = 30000;
  /** Runs whose ack point ingest keeps in memory (least recently used are dropped and re-read from the
   * database when needed), so a long-lived orchestrator does not grow with every run it ever saw. */
  @Transform(toInt) @IsInt() @Min(1) @Max(10000000) ingestCachedRuns = 10000;

  get zmqConnectEndpoint(): string {
    return this.zmqConnect ?? this.zmqBind.replace('tcp://*:', 'tcp://127.0.0.1:').replace('tcp://0.0.0.0:', 'tcp://127.0.0.1:');
  }
}

const ENV: Record<keyof Omit<AppConfig, 'zmqConnectEndpoint'>, string> = {
  host: 'TRAINYARD_HOST',
  port: 'TRAINYARD_PORT',
  zmqBind: 'TRAINYARD_ZMQ_BIND',
  zmqConnect: 'TRAINYARD_ZMQ_CONNECT',
  sqlitePath: 'TRAINYARD_SQLITE',
  databaseUrl: 'DATABASE_URL',
  workerKey: 'TRAINYARD_WORKER_KEY',
  python: 'TRAINYARD_PYTHON',
  localWorker: 'TRAINYARD_LOCAL_WORKER',
  localCpuSlots: 'TRAINYARD_CPU_SLOTS',
  heartbeatMs: 'TRAINYARD_HEARTBEAT_MS',
  liveness: 'TRAINYARD_LIVENESS',
  varDir: 'TRAINYARD_VAR',
  logLevel: 'TRAINYARD_LOG_LEVEL',
  liveThrottleMs: 'TRAINYARD_LIVE_THROTTLE_MS',
  pythoniaTimeoutMs: 'TRAINYARD_PYTHONIA_TIMEOUT_MS',
  assignTimeoutMs: 'TRAINYARD_ASSIGN_TIMEOUT_MS',
  deviceSampleMs: 'TRAINYARD_DEVICE_SAMPLE_MS',
  ingestCachedRuns: 'TRAINYARD_INGEST_CACHED_RUNS',
};

export class ConfigError extends Error {}

/**
 * Builds the config from the environment plus overrides (tests pass overrides). Throws ConfigError
 * naming every bad variable; never echoes a secret's value.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<AppConfig> = {}): AppConfig {
  const plain: Record<string, unknown> = {};
  for (const [field, name] of Object.entries(ENV)) if (env[name] !== undefined) plain[field] = env[name];
  Object.assign(plain, overrides);
  const cfg = plainToInstance(AppConfig, plain);
  cfg.varDir = resolve(REPO_ROOT, cfg.varDir);
  if (!cfg.workerKey) cfg.workerKey = loadOrCreateWorkerKey(cfg.varDir);
  const errors = validateSync(cfg, { forbidUnknownValues: false });
  if (errors.length) {
    const lines = errors.map((e) => {
      const name = ENV[e.property as keyof typeof ENV] ?? e.property;
      const secret = e.property === 'workerKey' || e.property === 'databaseUrl';
      // What the user wrote, not what the transform made of it ("abc" became NaN, which prints as null).
      const value = secret ? '(hidden)' : JSON.stringify(plain[e.property] ?? e.value);
      const notANumber = typeof e.value === 'number' && Number.isNaN(e.value);
      const why = notANumber ? `${e.property} must be a number` : Object.values(e.constraints ?? {}).join('; ');
      return `${name}=${value}: ${why}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  if (!cfg.databaseUrl) {
    const file = cfg.sqlitePath ?? resolve(cfg.varDir, 'trainyard.sqlite');
    cfg.sqlitePath = file === ':memory:' ? ':memory:' : resolve(REPO_ROOT, file);
  }
  return cfg;
}

function loadOrCreateWorkerKey(varDir: string): string {
  const file = resolve(varDir, 'worker.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(varDir, { recursive: true });
  const key = randomBytes(32).toString('hex');
  writeFileSync(file, key + '\n', { mode: 0o600 });
  return key;
}

/** For logs: a database URL with its password removed. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable url)';
  }
}
