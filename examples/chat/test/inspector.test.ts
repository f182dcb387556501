/**
 * The chat demo mounts the inspector for requests from this machine (src/inspector.ts) and links it
 * from the page, on both flavours.
 */
import request from 'supertest';
import { INSPECTOR_PATH, isLoopbackAddress } from '../src/inspector';
import { Clients, flavours, type Running } from './support';

describe.each(flavours)('chat demo inspector on %s', (_name, start) => {
  let server: Running;
  const clients = new Clients(() => server);

  beforeAll(async () => {
    server = await start(0, { env: {}, logger: false });
  });

  afterAll(async () => {
    await clients.closeAll();
    await server.close();
  });

  it('links the inspector from the page', async () => {
    const page = await request(server.url).get('/').expect(200);
    expect(page.text).toContain(`href="${INSPECTOR_PATH}"`);
  });

  it('serves the inspector page and its data to a request from this machine, listing a connected user', async () => {
    await clients.as('alice');
    const page = await request(server.url).get(INSPECTOR_PATH).expect(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('stompkit inspector');
    const data = await request(server.url).get(`${INSPECTOR_PATH}/data.json`).expect(200);
    expect(data.body.sessions.map((s: { user: string | null }) => s.user)).toContain('alice');
  });
});

describe('isLoopbackAddress', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '::FFFF:127.0.0.1'])('accepts %s', (address) => {
    expect(isLoopbackAddress(address)).toBe(true);
  });

  it.each(['10.0.0.1', '192.168.1.2', '::ffff:10.0.0.1', '::2', 'fe80::1', '128.0.0.1', '127', 'localhost', ''])('refuses %s', (address) => {
    expect(isLoopbackAddress(address)).toBe(false);
  });

  it('refuses a request whose peer address is unknown (socket already closed)', () => {
    expect(isLoopbackAddress(undefined)).toBe(false);
  });
});
