// Debian's Chromium driven by playwright-core (no downloaded browsers), for the dashboard tests.
import { existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';

export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox', // root in containers has no usable sandbox
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** CHROMIUM_BIN, or Debian's /usr/bin/chromium. */
export function chromiumExecutable(): string {
  return process.env.CHROMIUM_BIN || '/usr/bin/chromium';
}

/** Launches headless Chromium; close it with `await browser.close()` in afterAll. */
export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  const executablePath = chromiumExecutable();
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium not found at ${executablePath}; install chromium (apt-get install chromium) or set CHROMIUM_BIN`);
  }
  return chromium.launch({
    executablePath,
    headless: true,
    timeout: 60_000,
    ...options,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
  });
}

/** Directory for screenshots and other artefacts: TRAINYARD_TEST_OUTPUT (set by npm test) or ./test-output. */
export function testOutputDir(): string {
  const dir = process.env.TRAINYARD_TEST_OUTPUT || 'test-output';
  const abs = isAbsolute(dir) ? dir : resolve(process.cwd(), dir);
  mkdirSync(abs, { recursive: true });
  return abs;
}

/** Path for an artefact file under testOutputDir(), e.g. outputPath('dashboard-run.png'). */
export function outputPath(fileName: string): string {
  if (fileName.includes('/') || fileName.includes('\\') || fileName.startsWith('.')) {
    throw new Error(`outputPath: expected a plain file name, got '${fileName}'`);
  }
  return join(testOutputDir(), fileName);
}
