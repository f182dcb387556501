/**
 * A new user's first hour: the server exactly as the README's "Coming from Spring" section shows
 * it (fixtures/getting-started/server.mjs, compared with the README's block), run as its own
 * process with no logger option, and a page that behaves like the frontend of Spring's STOMP
 * getting-started guide (stompjs from the CDN URL the guide uses, served here from node_modules;
 * `publish()` of a JSON string with no content-type; a `sendTo` reply rendered on the page).
 *
 * - In headless Chromium (Debian's `chromium` with playwright-core): the greeting shows the name.
 * - On the server's stderr, with no logger configured: a handler that throws (its stack), a
 *   refused frame (session, destination, reason) and a refused upgrade (403 origin).
 *
 * The child process loads the packages' dist/ (`npm test` builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { RawClient } from '../../core/test/helpers/raw-client';
import { launchChromium, requireChromium, screenshotPath } from '../../core/test/helpers/chromium';
import { refusedUpgrade } from '../../core/test/transport/ws-helpers';

const FIXTURE = join(__dirname, 'fixtures', 'getting-started');
const README = join(__dirname, '..', '..', '..', 'README.md');
const STOMPJS_BUNDLE = join(__dirname, '..', '..', '..', 'node_modules', '@stomp', 'stompjs', 'bundles', 'stomp.umd.min.js');

interface Child {
  process: ChildProcess;
  port: number;
  stderr(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Starts server.mjs in its folder (so `express.static('public')` finds the page) and waits until it answers. */
async function startServerProcess(): Promise<Child> {
  const port = await freePort();
  const child = spawn(process.execPath, ['server.mjs'], { cwd: FIXTURE, env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server.mjs exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/app.js`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server.mjs did not answer on port ${port}: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    process: child,
    port,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

async function untilStderr(child: Child, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + 5000;
  while (!pattern.test(child.stderr())) {
    if (Date.now() > deadline) throw new Error(`stderr never matched ${pattern}:\n${child.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return child.stderr();
}

describe('the README server', () => {
  it('is the README\'s "Coming from Spring" block, character for character', () => {
    const readme = readFileSync(README, 'utf8');
    const server = readFileSync(join(FIXTURE, 'server.mjs'), 'utf8');
    expect(readme).toContain('```js\n// server.mjs\n' + server + '```');
  });
});

describe('the README server with no logger option', () => {
  let child: Child;

  beforeAll(async () => {
    child = await startServerProcess();
  }, 20_000);

  afterAll(async () => {
    await child?.stop();
  });

  it('writes a thrown handler error with its stack, a refused frame and a refused upgrade to stderr', async () => {
    const url = `ws://127.0.0.1:${child.port}/gs-guide-websocket`;
    const c = await RawClient.connect(url, { 'accept-version': '1.2', host: 'localhost' });
    try {
      c.send('SEND', { destination: '/app/hello' }, 'null'); // message.payload.name of null: a TypeError in the handler
      c.send('SUBSCRIBE', { id: 'typo', destination: '/topci/greetings' });
      c.send('SEND', { destination: '/topic/greetings', receipt: 'alive' }, 'still connected');
      await c.expect('RECEIPT');
    } finally {
      c.close();
    }
    const refused = await refusedUpgrade(url, { headers: { origin: 'https://elsewhere.example' } });
    expect(refused.status).toBe(403);

    const log = await untilStderr(child, /WARN stompkit: websocket upgrade refused: origin not allowed/);
    const lines = log.split('\n');
    const handlerError = lines.findIndex((l) => / ERROR stompkit: unhandled error in message handler /.test(l));
    expect(handlerError).toBeGreaterThanOrEqual(0);
    expect(lines[handlerError]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z ERROR stompkit: unhandled error in message handler err="Cannot read properties of null \(reading 'name'\)" sessionId=\S+ destination=\/app\/hello handler=handle\('\/hello'\)$/);
    expect(lines[handlerError + 1]).toBe("    TypeError: Cannot read properties of null (reading 'name')");
    expect(lines[handlerError + 2]).toMatch(/^ {8}at .*server\.mjs:6:/);
    expect(log).toMatch(/WARN stompkit: SUBSCRIBE refused; session kept open sessionId=\S+ command=SUBSCRIBE destination=\/topci\/greetings code=STOMP_ERR_DESTINATION reason="cannot subscribe to '\/topci\/greetings': no destination prefix matches;/);
    expect(log).toMatch(/WARN stompkit: websocket upgrade refused: origin not allowed \(see allowedOrigins\) status=403 url=\/gs-guide-websocket origin=https:\/\/elsewhere.example allowedOrigins="same origin only"/);
    // The handler error itself is logged once, not again as a refused frame.
    expect(log.match(/Cannot read properties of null/g)).toHaveLength(2);
  });
});

if (requireChromium('getting-started page')) {
  describe('the Spring guide page against the README server, in headless Chromium', () => {
    let browser: Browser;
    let child: Child;

    beforeAll(async () => {
      [browser, child] = await Promise.all([launchChromium(), startServerProcess()]);
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await child?.stop();
    });

    it('greets by name: JSON published without content-type reaches the handler as an object, and the sendTo reply is rendered', async () => {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(err.message));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      // The guide loads stompjs from a CDN; this network has none, so the same file comes from node_modules.
      await page.route('https://cdn.jsdelivr.net/**', (route) => route.fulfill({ path: STOMPJS_BUNDLE, contentType: 'text/javascript' }));
      await page.goto(`http://127.0.0.1:${child.port}/`);
      await page.click('#connect');
      await page.locator('body[data-connected="true"]').waitFor();
      await page.fill('#name', 'Ada');
      await page.click('#send');
      await page.locator('#greetings td').filter({ hasText: 'Hello, Ada!' }).waitFor();
      await page.fill('#name', 'Grace');
      await page.click('#send');
      await page.locator('#greetings td').nth(1).filter({ hasText: 'Hello, Grace!' }).waitFor();
      expect(await page.locator('#greetings td').allTextContents()).toEqual(['Hello, Ada!', 'Hello, Grace!']);
      await page.screenshot({ path: screenshotPath('getting-started.png') });
      expect(problems).toEqual([]);
      expect(child.stderr()).toBe('');
    });
  });
}
