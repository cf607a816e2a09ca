import { describe, expect, it, jest } from '@jest/globals';
import { BootQuietLogger } from './boot-logger.js';

function printed(logger: BootQuietLogger, run: (l: BootQuietLogger) => void): string {
  const chunks: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
    chunks.push(String(c));
    return true;
  });
  try {
    run(logger);
  } finally {
    spy.mockRestore();
  }
  return chunks.join('');
}

describe('BootQuietLogger', () => {
  it("drops Nest's module and route lines at log level and keeps everything else", () => {
    const out = printed(new BootQuietLogger(['fatal', 'error', 'warn', 'log']), (l) => {
      l.log('Mapped {/api/runs, GET} route', 'RouterExplorer');
      l.log('AppModule dependencies initialized', 'InstanceLoader');
      l.log('dashboard: http://127.0.0.1:3000/', 'Trainyard');
      l.warn('host gpu-1 offline', 'Hosts');
    });
    expect(out).not.toContain('Mapped');
    expect(out).not.toContain('dependencies initialized');
    expect(out).toContain('dashboard: http://127.0.0.1:3000/');
    expect(out).toContain('host gpu-1 offline');
  });

  it('keeps them at debug level', () => {
    const out = printed(new BootQuietLogger(['fatal', 'error', 'warn', 'log', 'debug']), (l) => l.log('Mapped {/api/runs, GET} route', 'RouterExplorer'));
    expect(out).toContain('Mapped {/api/runs, GET} route');
  });
});
