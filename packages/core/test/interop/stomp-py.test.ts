/**
 * stomp.py (Debian's python3-stomp, the Python client backend services use) over TCP, and a
 * @stomp/stompjs WebSocket client, through one broker: the browser feeds a queue the Python
 * service consumes with client-individual acks (one NACK, redelivered), and the service's
 * committed transaction reaches the browser while its aborted one never does. The Python side is
 * test/fixtures/stomp_py_client.py. Without python3-stomp the suite skips loudly; under CI it fails.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Client as StompjsClient, IMessage } from '@stomp/stompjs';
import type { TcpListener } from '../../src/transport/tcp';
import { startServer, type TestServer } from '../helpers/server';
import { stompjsConnect } from '../transport/ws-helpers';

/** Debian's interpreter, where python3-stomp installs (a pyenv python3 on PATH would not see it). */
const PYTHON = ['/usr/bin/python3', 'python3'].find((bin) => spawnSync(bin, ['-c', 'import stomp'], { stdio: 'ignore' }).status === 0);
const SCRIPT = join(__dirname, '..', 'fixtures', 'stomp_py_client.py');

if (PYTHON === undefined && process.env.CI !== 'true') {
  console.warn('stomp-py.test.ts skipped: python3-stomp is not installed (apt-get install python3-stomp), and CI is unset.');
}
const describeWithPython = PYTHON !== undefined || process.env.CI === 'true' ? describe : describe.skip;

interface PyEvent {
  event: string;
  [key: string]: unknown;
}

describeWithPython('stomp.py over TCP', () => {
  let server: TestServer;
  let listener: TcpListener;
  let browser: StompjsClient | undefined;
  let python: ChildProcess | undefined;

  beforeEach(async () => {
    server = await startServer({
      heartbeat: [0, 0],
      authenticate: ({ login, passcode }) => (passcode === 'pw' && login !== undefined ? { name: login } : false),
    });
    listener = await server.broker.listen({ port: 0, host: '127.0.0.1' });
  });

  afterEach(async () => {
    python?.kill();
    await browser?.deactivate();
    await server.close();
  });

  it('consumes with client-individual acks and a NACK, and sends a committed and an aborted transaction to a WebSocket client', async () => {
    if (PYTHON === undefined) throw new Error('python3-stomp is required under CI (apt-get install python3-stomp)');
    const suffix = Math.random().toString(36).slice(2, 8);
    const queue = `/queue/py-jobs-${suffix}`;
    const topic = `/topic/py-ledger-${suffix}`;
    browser = (await stompjsConnect(server.url, { connectHeaders: { login: 'web', passcode: 'pw' } })).client;
    const ledger: IMessage[] = [];
    const receipt = `sub-${suffix}`;
    const live = new Promise<void>((resolve) => browser!.watchForReceipt(receipt, () => resolve()));
    browser.subscribe(topic, (m) => ledger.push(m), { receipt });
    await live;

    const child = spawn(PYTHON, [SCRIPT, String(listener.port), queue, topic], { stdio: ['ignore', 'pipe', 'pipe'] });
    python = child;
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const events: PyEvent[] = [];
    const lines = createInterface({ input: child.stdout! });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const waitEvent = (name: string): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        if (events.some((e) => e.event === name)) return resolve();
        const onLine = (): void => {
          if (!events.some((e) => e.event === name)) return;
          lines.off('line', onLine);
          resolve();
        };
        lines.on('line', onLine);
        void exited.then((code) => reject(new Error(`stomp.py exited (${code}) before '${name}': ${stderr}`)));
      });
    lines.on('line', (line) => events.push(JSON.parse(line) as PyEvent));

    await waitEvent('ready');
    expect(events[0]).toEqual({ event: 'connected', user: 'pyservice' });
    const py = [...server.broker.sessions.values()].find((s) => s.user?.name === 'pyservice')!;
    expect(py.transport).toBe('tcp');
    expect(py.version).toBe('1.2');
    for (const body of ['a', 'b', 'c']) browser.publish({ destination: queue, body });

    await waitEvent('done');
    expect(await exited).toBe(0);
    const deliveries = events.filter((e) => e.event === 'message');
    expect(deliveries.filter((d) => !d.redelivered).map((d) => d.body)).toEqual(['a', 'b', 'c']);
    expect(deliveries.filter((d) => d.redelivered).map((d) => d.body)).toEqual(['b']);
    expect(deliveries.every((d) => d.destination === queue)).toBe(true);
    const deadline = Date.now() + 5000;
    while (ledger.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(ledger.map((m) => m.body)).toEqual(['tx-1', 'tx-2', 'after the abort']);
    expect(server.broker.stats().unacked).toBe(0);
    expect(server.broker.stats().queueDepths[queue] ?? 0).toBe(0);
  });
});
