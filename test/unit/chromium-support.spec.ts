import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, statSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { launchChromium, outputPath } from '../support/chromium.js';

describe('launchChromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('renders a data: URL, runs its script and screenshots it to the test output', async () => {
    const page = await browser.newPage({ viewport: { width: 320, height: 200 } });
    const html = '<html><body style="margin:0;background:#0a7"><h1 id="t">Trainyard</h1>' +
      '<script>document.getElementById("t").dataset.n = String(6 * 7)</script></body></html>';
    await page.goto(`data:text/html,${encodeURIComponent(html)}`);
    expect(await page.textContent('#t')).toBe('Trainyard');
    expect(await page.getAttribute('#t', 'data-n')).toBe('42');

    const file = outputPath('chromium-self-test.png');
    await page.screenshot({ path: file });
    const png = readFileSync(file);
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(320); // IHDR width
    expect(png.readUInt32BE(20)).toBe(200); // IHDR height
    expect(statSync(file).size).toBeGreaterThan(100);
    await page.close();
  }, 60_000);
});
