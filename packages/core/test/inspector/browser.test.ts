/**
 * The inspector page in headless Chromium (Debian's `chromium`, driven by playwright-core; .ci/run
 * installs it) while clients exchange messages: the sessions table, the destinations and queues,
 * the live chart, user-controlled text shown as text, and no CSP violation or script error. A
 * screenshot goes to test-output/inspector.png.
 *
 * Without /usr/bin/chromium the test fails under CI=true and is skipped (loudly) elsewhere.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@stomp/stompjs';
import type { Browser } from 'playwright-core';
import { launchChromium, requireChromium, screenshotPath } from '../helpers/chromium';
import { createBroker, type StompBroker } from '../../src';
import { createInspector } from '../../src/inspector/inspector';
import { RawClient } from '../helpers/raw-client';
import { stompjsConnect } from '../transport/ws-helpers';

if (requireChromium('inspector page')) {
  describe('inspector page in headless Chromium', () => {
    let browser: Browser;
    let broker: StompBroker;
    let http: Server;
    let base: string;
    const clients: Client[] = [];
    const raws: RawClient[] = [];
    let traffic: NodeJS.Timeout | undefined;

    beforeAll(async () => {
      browser = await launchChromium();
    }, 60_000);

    beforeEach(async () => {
      broker = createBroker({
        logger: false,
        heartbeat: [0, 0],
        allowedOrigins: ['https://chat.example'],
        authenticate: (info) => (info.login ? { name: info.login } : undefined),
      });
      const inspector = createInspector(broker, {
        authorize: (req) => req.headers['x-admin-token'] === 's3cret',
        pollInterval: 400,
        minSampleInterval: 300,
      });
      http = createServer((req, res) => inspector(req, res));
      broker.attach(http, { path: '/ws' });
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      base = `127.0.0.1:${(http.address() as AddressInfo).port}`;
    });

    afterEach(async () => {
      if (traffic !== undefined) clearInterval(traffic);
      await Promise.all(clients.splice(0).map((c) => c.deactivate()));
      for (const raw of raws.splice(0)) raw.close();
      await broker.close({ timeout: 500 });
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    });

    afterAll(async () => {
      await browser?.close();
    });

    async function user(login: string): Promise<Client> {
      const { client } = await stompjsConnect(`ws://${base}/ws`, { connectHeaders: { login } }, { origin: 'https://chat.example' });
      clients.push(client);
      return client;
    }

    it('is refused without authorization', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const response = await page.goto(`http://${base}/stomp-inspector`);
      expect(response?.status()).toBe(403);
      expect(await page.textContent('body')).toBe('Forbidden');
      await context.close();
    });

    it('shows live sessions, destinations, queues and a message-rate chart while two clients chat', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const mallory = await user('<img src=x onerror=alert(1)>');
      const legacy = await RawClient.connect(`ws://${base}/ws`, { 'accept-version': '1.0', host: 'h' });
      raws.push(legacy);
      let received = 0;
      alice.subscribe('/topic/chat/lobby', () => received++);
      bob.subscribe('/topic/chat/lobby', () => received++);
      bob.subscribe('/user/queue/dm', () => received++);
      mallory.subscribe('/topic/<b>bold</b>', () => undefined);
      legacy.send('SUBSCRIBE', { destination: '/topic/chat/lobby' });
      // Someone who gets it wrong, for the errors table: refused (told on /user/queue/errors), then leaves.
      const lost = await RawClient.connect(`ws://${base}/ws`);
      lost.send('SUBSCRIBE', { id: 'e', destination: '/user/queue/errors', receipt: 'e' });
      await lost.expect('RECEIPT');
      lost.send('SUBSCRIBE', { id: 's', destination: '/nowhere' });
      expect((await lost.expect('MESSAGE')).headers.message).toContain("cannot subscribe to '/nowhere'");
      lost.send('DISCONNECT', { receipt: 'bye' });
      await lost.expect('RECEIPT');
      for (let i = 0; i < 3; i++) alice.publish({ destination: '/queue/jobs', body: `job ${i}` });

      // Two people chatting at a rate that rises and falls, so the chart has a shape.
      let tick = 0;
      traffic = setInterval(() => {
        tick++;
        const burst = 2 + Math.round(6 * (1 + Math.sin(tick / 6)));
        for (let i = 0; i < burst; i++) {
          alice.publish({ destination: '/topic/chat/lobby', body: JSON.stringify({ from: 'alice', text: `hi ${tick}.${i}` }) });
          if (i % 2 === 0) bob.publish({ destination: '/topic/chat/lobby', body: JSON.stringify({ from: 'bob', text: `hey ${tick}.${i}` }) });
        }
        if (tick % 4 === 0) alice.publish({ destination: '/user/bob/queue/dm', body: 'psst' });
      }, 100);

      const problems: string[] = [];
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, extraHTTPHeaders: { 'x-admin-token': 's3cret' } });
      const page = await context.newPage();
      page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
      });
      page.on('dialog', (d) => {
        problems.push(`dialog: ${d.message()}`);
        void d.dismiss();
      });
      const response = await page.goto(`http://${base}/stomp-inspector`);
      expect(response?.status()).toBe(200);

      await page.locator('[data-testid="status"][data-state="live"]').waitFor();
      for (const name of ['alice', 'bob']) await page.locator(`[data-testid="session-row"][data-user="${name}"]`).waitFor();
      await page.locator('[data-testid="destination-row"][data-destination="/topic/chat/lobby"]').waitFor();
      await page.locator('[data-testid="queue-row"][data-destination="/queue/jobs"]').waitFor();
      // The chart: enough rate points for a line, drawn from the polled history.
      // Page functions reach `document` through globalThis: the tests compile without the DOM lib
      // (and a string predicate would need eval, which the page's CSP rightly forbids).
      await page.waitForFunction(() => Number((globalThis as any).document.querySelector('[data-testid="chart"]')?.getAttribute('data-points') ?? 0) >= 16, undefined, { timeout: 15_000 });

      const rows = page.locator('[data-testid="session-row"]');
      expect(await rows.count()).toBe(4);
      const aliceRow = page.locator('[data-testid="session-row"][data-user="alice"]');
      expect(await aliceRow.locator('td').nth(1).textContent()).toBe('1.2');
      expect(await aliceRow.locator('td').nth(2).textContent()).toBe('https://chat.example');
      expect(await aliceRow.locator('td').nth(3).textContent()).toBe('127.0.0.1');
      expect(await aliceRow.locator('td').nth(4).textContent()).toBe('websocket');
      const legacyRow = rows.nth(3);
      expect(await legacyRow.locator('td').nth(0).textContent()).toBe('anonymous');
      expect(await legacyRow.locator('td').nth(1).textContent()).toBe('1.0');
      // User-controlled text is text: the would-be tags are shown, never parsed.
      const malloryRow = page.locator('[data-testid="session-row"]').filter({ hasText: '<img src=x onerror=alert(1)>' });
      expect(await malloryRow.count()).toBe(1);
      expect(await page.locator('main img').count()).toBe(0);
      expect(await page.locator('[data-testid="destinations-table"] b').count()).toBe(0);
      await page.locator('[data-testid="destination-row"]').filter({ hasText: '/topic/<b>bold</b>' }).waitFor();
      expect(await page.locator('[data-testid="destination-row"][data-destination="/topic/chat/lobby"] td').nth(1).textContent()).toBe('3');
      expect(await page.locator('[data-testid="queue-row"][data-destination="/queue/jobs"] td').nth(1).textContent()).toBe('3');
      expect(await page.textContent('[data-testid="tile-sessions"]')).toBe('4');
      expect(await page.textContent('[data-testid="tile-versions"]')).toBe('1.2: 3 · 1.1: 0 · 1.0: 1');
      expect(await page.textContent('[data-testid="tile-in-rate"]')).toMatch(/^[\d.,]+\/s$/);
      expect(Number((await page.textContent('[data-testid="tile-out-rate"]'))!.replace(/[^\d.]/g, ''))).toBeGreaterThan(0);
      expect(received).toBeGreaterThan(0);
      await page.locator('[data-testid="errors-table"] tr').filter({ hasText: 'STOMP_ERR_DESTINATION' }).waitFor();

      // The chart really has ink on it: some pixels in the series colours.
      const inked = await page.evaluate(() => {
        const canvas = (globalThis as any).document.querySelector('[data-testid="chart"]');
        const data: Uint8ClampedArray = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let blue = 0;
        let green = 0;
        for (let i = 0; i < data.length; i += 4) {
          const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
          if (a > 200 && b > 200 && r < 90 && g < 130) blue++;
          if (a > 200 && g > 130 && r < 60 && b < 130) green++;
        }
        return { blue, green };
      });
      expect(inked.blue).toBeGreaterThan(50);
      expect(inked.green).toBeGreaterThan(50);
      await page.screenshot({ path: screenshotPath('inspector.png'), fullPage: true });
      expect(problems).toEqual([]);
      await context.close();
    }, 60_000);
  });
}
