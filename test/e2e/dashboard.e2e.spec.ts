// The dashboard in a real browser (Debian's Chromium via playwright-core) against the real system:
// a run's loss curve gains points while it trains, live over socket.io, without a reload.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { HostView, RunView } from '../../src/contracts/api.js';
import { REPO_ROOT } from '../../src/config/app-config.js';
import { launchChromium, outputPath } from '../support/chromium.js';
import { startSystem, tinyExperiment, type System } from '../support/system.js';

jest.setTimeout(600_000);

describe('dashboard in Chromium', () => {
  let sys: System;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    if (!existsSync(join(REPO_ROOT, 'apps', 'dashboard', 'dist', 'index.html'))) {
      throw new Error('dashboard not built: run npm run build:dashboard (npm test does)');
    }
    sys = await startSystem({ cpuSlots: 1 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await sys?.close();
  });

  it('shows the local host and a training run whose loss curve grows live, then cancels it', async () => {
    for (let i = 0; ; i++) {
      const hosts = (await sys.api<HostView[]>('GET', '/api/hosts')).body;
      if (hosts.some((h) => h.status === 'online')) break;
      if (i > 300) throw new Error('local worker never came online');
      await new Promise((r) => setTimeout(r, 200));
    }
    await page.goto(`${sys.url}/#/hosts`);
    await page.waitForSelector('[data-testid="host-row"]');
    // Each device shows its utilization history (sampled from heartbeats; empty right after start).
    await page.waitForSelector('[data-testid="device-row"] [data-testid="device-sparkline"]');
    await page.waitForSelector('[data-testid="live-indicator"][data-state="live"]');

    const created = await sys.api<{ runs: RunView[] }>(
      'POST',
      '/api/experiments',
      tinyExperiment('browser', { data: { source: 'fashion-mnist', train_subset: 6000, test_subset: 256, pad_to: 36 }, train: { epochs: 20, batch_size: 64 } }),
    );
    const id = created.body.runs[0].id;
    await page.goto(`${sys.url}/#/runs/${id}`);
    await page.waitForSelector('[data-testid="run-view"]');
    await page.waitForSelector('[data-testid="run-status"][data-status="running"]', { timeout: 120_000 });

    const curve = page.locator('[data-testid="curve-train_loss"]');
    const points = async () => Number((await curve.getAttribute('data-points')) ?? '0');
    // The page is never reloaded: every new point arrives over socket.io.
    const seen: number[] = [await points()];
    const deadline = Date.now() + 240_000;
    while (seen.filter((n, i) => i > 0 && n > seen[i - 1]).length < 2 && Date.now() < deadline) {
      await page.waitForTimeout(500);
      const n = await points();
      if (n !== seen[seen.length - 1]) seen.push(n);
    }
    expect(seen.filter((n, i) => i > 0 && n > seen[i - 1]).length).toBeGreaterThanOrEqual(2);
    expect(seen[seen.length - 1]).toBeGreaterThan(seen[0]);

    const shot = outputPath('dashboard-run.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);

    await page.click('[data-testid="cancel-run"]');
    await page.waitForSelector('[data-testid="run-status"][data-status="cancelled"]', { timeout: 90_000 });
    expect((await sys.api<RunView>('GET', `/api/runs/${id}`)).body.status).toBe('cancelled');
  });
});
