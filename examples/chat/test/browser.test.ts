/**
 * The chat page in headless Chromium (Debian's `chromium`, driven by playwright-core; .ci/run
 * installs it): two people chat in a room, see each other online, and one sends the other a
 * direct message that a third page never sees. A screenshot goes to test-output/.
 *
 * Without /usr/bin/chromium the test fails under CI=true and is skipped (loudly) elsewhere.
 */
import type { Browser, Page } from 'playwright-core';
import { launchChromium, requireChromium, screenshotPath } from '../../../packages/core/test/helpers/chromium';
import { flavours, type Running } from './support';

if (requireChromium('chat page')) {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  describe.each(flavours)('chat page on %s in headless Chromium', (name, start) => {
    let server: Running;
    const problems: string[] = [];

    beforeEach(async () => {
      server = await start(0, { env: {}, logger: false });
      problems.length = 0;
    });

    afterEach(async () => {
      await server.close();
    });

    /**
     * A page in its own browser context (no shared storage), joined as `user` in `room`;
     * `noWebSocket` removes WebSocket from the page before its scripts run (an old browser or a
     * proxy that breaks upgrades), `query` is appended to the page URL.
     */
    async function joinAs(user: string, room = 'lobby', options: { noWebSocket?: boolean; query?: string } = {}): Promise<Page> {
      const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
      const page = await context.newPage();
      if (options.noWebSocket === true) {
        await page.addInitScript(() => {
          delete (window as { WebSocket?: unknown }).WebSocket;
        });
      }
      page.on('pageerror', (err) => problems.push(`${user}: ${err.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`${user}: ${m.text()}`);
      });
      await page.goto(server.url + (options.query ?? ''));
      await page.getByTestId('name').fill(user);
      await page.getByTestId('room').fill(room);
      await page.getByTestId('join').click();
      await page.getByTestId('status').and(page.locator('[data-state="online"]')).waitFor();
      await page.getByTestId('room-title').filter({ hasText: `#${room}` }).waitFor();
      return page;
    }

    function online(page: Page, user: string) {
      return page.getByTestId('online-list').locator(`[data-user="${user}"]`);
    }

    async function say(page: Page, text: string): Promise<void> {
      await page.getByTestId('message-input').fill(text);
      await page.getByTestId('send').click();
    }

    it('two people chat, see each other online, and exchange a direct message', async () => {
      const alice = await joinAs('alice');
      const bob = await joinAs('bob');
      const carol = await joinAs('carol', 'elsewhere');

      // Presence: everyone sees everyone, themselves marked.
      for (const page of [alice, bob, carol]) {
        for (const user of ['alice', 'bob', 'carol']) await online(page, user).waitFor();
      }
      expect(await online(alice, 'alice').isDisabled()).toBe(true);
      await expect(alice.getByTestId('online-count').textContent()).resolves.toBe('3');

      // Room messages go both ways, live.
      await say(alice, 'Hi Bob — ça va ?');
      await bob.getByTestId('message').filter({ hasText: 'Hi Bob — ça va ?' }).and(bob.locator('[data-from="alice"]')).waitFor();
      await say(bob, 'Hello Alice, <b>not bold</b>');
      const reply = alice.getByTestId('message').filter({ hasText: 'Hello Alice, <b>not bold</b>' });
      await reply.waitFor();
      expect(await reply.locator('b').count()).toBe(0); // text, never HTML

      // A direct message: click bob in alice's online list.
      await online(alice, 'bob').click();
      await expect(alice.getByTestId('target').textContent()).resolves.toBe('@bob');
      await say(alice, 'psst, just for you');
      const dm = bob.getByTestId('dm').filter({ hasText: 'psst, just for you' });
      await dm.waitFor();
      expect(await dm.getAttribute('data-from')).toBe('alice');
      await alice.getByTestId('dm').filter({ hasText: 'psst, just for you' }).waitFor(); // the sender's echo

      // carol (another room) got no DM, and no lobby message: the next thing she sees is her own room's.
      await say(carol, 'anyone here?');
      await carol.getByTestId('message').filter({ hasText: 'anyone here?' }).waitFor();
      expect(await carol.getByTestId('dm').count()).toBe(0);
      expect(await carol.getByTestId('message').count()).toBe(1);

      // Back to the room: the composer targets #lobby again; bob's page shows the room's messages.
      await alice.getByTestId('clear-dm').click();
      await expect(alice.getByTestId('target').textContent()).resolves.toBe('#lobby');
      await say(alice, 'see you in #lobby');
      await bob.getByTestId('message').filter({ hasText: 'see you in #lobby' }).waitFor();

      // A newcomer gets the room's history.
      const dave = await joinAs('dave');
      await dave.getByTestId('message').filter({ hasText: 'Hi Bob — ça va ?' }).waitFor();
      expect(await dave.getByTestId('message').count()).toBe(3);
      expect(await dave.getByTestId('dm').count()).toBe(0);

      // bob leaves: the others see it.
      await bob.context().close();
      await online(alice, 'bob').waitFor({ state: 'detached' });
      await alice.screenshot({ path: screenshotPath(name === 'express' ? 'chat-browser.png' : `chat-browser-${name}.png`), fullPage: true });
      expect(problems).toEqual([]);
      for (const page of [alice, carol, dave]) await page.context().close();
    }, 60_000);

    it('a page without WebSocket falls back to SockJS over xhr-streaming and chats with a WebSocket user', async () => {
      const erin = await joinAs('erin', 'lobby', { noWebSocket: true });
      const frank = await joinAs('frank');
      const gina = await joinAs('gina', 'lobby', { query: '?transport=sockjs' });
      expect(await erin.evaluate(() => typeof (window as { WebSocket?: unknown }).WebSocket)).toBe('undefined');
      await expect(erin.getByTestId('status').textContent()).resolves.toBe('Connected as erin over SockJS (xhr-streaming)');
      await expect(frank.getByTestId('status').textContent()).resolves.toBe('Connected as frank over WebSocket');
      await expect(gina.getByTestId('status').textContent()).resolves.toBe('Connected as gina over SockJS (websocket)');
      const transports = [...server.broker.sessions.values()].map((s) => `${s.user?.name}:${s.transport}`).sort();
      expect(transports).toEqual(['erin:sockjs/xhr-streaming', 'frank:websocket', 'gina:sockjs/websocket']);

      for (const user of ['erin', 'frank', 'gina']) await online(erin, user).waitFor();
      await say(erin, 'hello from SockJS');
      await frank.getByTestId('message').filter({ hasText: 'hello from SockJS' }).and(frank.locator('[data-from="erin"]')).waitFor();
      await say(frank, 'hello from WebSocket');
      await erin.getByTestId('message').filter({ hasText: 'hello from WebSocket' }).and(erin.locator('[data-from="frank"]')).waitFor();
      await gina.getByTestId('message').filter({ hasText: 'hello from WebSocket' }).waitFor();

      // A direct message from the WebSocket user reaches the SockJS user only.
      await online(frank, 'erin').click();
      await say(frank, 'a secret over two transports');
      await erin.getByTestId('dm').filter({ hasText: 'a secret over two transports' }).waitFor();
      expect(await gina.getByTestId('dm').count()).toBe(0);
      await erin.screenshot({ path: screenshotPath(name === 'express' ? 'chat-sockjs.png' : `chat-sockjs-${name}.png`), fullPage: true });
      expect(problems).toEqual([]);
      for (const page of [erin, frank, gina]) await page.context().close();
    }, 60_000);
  });
}
