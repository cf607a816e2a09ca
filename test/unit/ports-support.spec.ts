import { describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { freePort, freePorts } from '../support/ports.js';

describe('freePort', () => {
  it('returns a port that a server can then listen on', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('hands out distinct ports in one call', async () => {
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
  });

  it('rejects a bad count', async () => {
    await expect(freePorts(0)).rejects.toThrow('count must be a positive integer');
  });
});
