import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, redactUrl } from './app-config.js';

describe('loadConfig', () => {
  const varDir = () => mkdtempSync(join(tmpdir(), 'trainyard-cfg-'));

  it('uses the documented defaults and generates a private worker key once', () => {
    const dir = varDir();
    const c = loadConfig({ TRAINYARD_VAR: dir });
    expect(c.port).toBe(3000);
    expect(c.zmqBind).toBe('tcp://127.0.0.1:5555');
    expect(c.heartbeatMs).toBe(1000);
    expect(c.liveness).toBe(3);
    expect(c.workerKey).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(join(dir, 'worker.key'), 'utf8').trim()).toBe(c.workerKey);
    expect(statSync(join(dir, 'worker.key')).mode & 0o077).toBe(0);
    expect(loadConfig({ TRAINYARD_VAR: dir }).workerKey).toBe(c.workerKey);
  });

  it('names every bad variable and never prints a secret', () => {
    let err: unknown;
    try {
      loadConfig({ TRAINYARD_VAR: varDir(), TRAINYARD_PORT: 'http', TRAINYARD_LIVENESS: '1', TRAINYARD_WORKER_KEY: 'short-secret' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain('TRAINYARD_PORT="http": port must be a number\n');
    expect(msg).toMatch(/TRAINYARD_LIVENESS/);
    expect(msg).toMatch(/TRAINYARD_WORKER_KEY=\(hidden\)/);
    expect(msg).not.toContain('short-secret');
  });

  it('derives the local worker endpoint from a wildcard bind and redacts database passwords', () => {
    expect(loadConfig({ TRAINYARD_VAR: varDir(), TRAINYARD_ZMQ_BIND: 'tcp://0.0.0.0:6000' }).zmqConnectEndpoint).toBe('tcp://127.0.0.1:6000');
    expect(redactUrl('postgres://u:secret@db:5432/t')).not.toContain('secret');
  });
});

describe('database location', () => {
  it('keeps the SQLite file inside TRAINYARD_VAR unless TRAINYARD_SQLITE says otherwise', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trainyard-cfg-'));
    expect(loadConfig({ TRAINYARD_VAR: dir }).sqlitePath).toBe(join(dir, 'trainyard.sqlite'));
    expect(loadConfig({ TRAINYARD_VAR: dir, TRAINYARD_SQLITE: '/tmp/x.sqlite' }).sqlitePath).toBe('/tmp/x.sqlite');
  });
});
