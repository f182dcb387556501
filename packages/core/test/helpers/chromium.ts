/**
 * Headless Chromium for browser tests: Debian's `chromium` (.ci/run installs it) driven by
 * playwright-core. Without /usr/bin/chromium a browser test fails under CI=true and is skipped,
 * loudly, elsewhere.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** <repo>/test-output, where screenshots go (gitignored). */
export const TEST_OUTPUT = join(__dirname, '..', '..', '..', '..', 'test-output');

/** True when Chromium is there; otherwise registers the failing (CI) or skipped test for `what`. */
export function requireChromium(what: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true') {
    it('needs Chromium', () => {
      throw new Error(`browser test needs ${CHROMIUM} (CI=true): .ci/run installs it with apt-get install chromium`);
    });
  } else {
    console.warn(`SKIPPED: ${what} browser test needs ${CHROMIUM} — apt-get install chromium`);
    it.skip(`${what} in headless Chromium (needs ${CHROMIUM})`, () => undefined);
  }
  return false;
}

/** Launches headless Chromium without the background networking this closed network refuses. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** The path of a screenshot file under test-output/ (the folder is created). */
export function screenshotPath(name: string): string {
  mkdirSync(TEST_OUTPUT, { recursive: true });
  return join(TEST_OUTPUT, name);
}
