/**
 * Decorated controllers under both decorator modes. The fixture (test/fixtures/decorators) is
 * type-checked and compiled here with the TypeScript compiler API, once as TypeScript 5 standard
 * decorators and once with `experimentalDecorators` (ts-jest's isolated transpilation of test
 * files would not exercise either mode faithfully), then loaded and driven over real sockets.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import type { TestServer } from '../helpers/server';
import { MessageMapping, SendTo } from '../../src';
import { Clients, json, sendJson, startAppServer, subscribeLive, untilReceipt } from './support';

const repoRoot = join(__dirname, '..', '..', '..', '..');
const fixture = join(__dirname, '..', 'fixtures', 'decorators', 'chat-controller.ts');
const outDir = mkdtempSync(join(tmpdir(), 'stompkit-decorators-'));

type Mode = 'standard' | 'experimentalDecorators';

function compilerOptions(mode: Mode): ts.CompilerOptions {
  return {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    strict: true,
    esModuleInterop: true,
    skipLibCheck: true,
    types: ['node'],
    experimentalDecorators: mode === 'experimentalDecorators',
    baseUrl: repoRoot,
    paths: { '@stompkit/core': ['packages/core/src/index.ts'] },
    noEmit: true,
  };
}

/** Type-checks the fixture in `mode`; returns the fixture's diagnostics as text (empty = clean). */
function typeCheck(mode: Mode): string[] {
  const program = ts.createProgram([fixture], compilerOptions(mode));
  return ts.getPreEmitDiagnostics(program, program.getSourceFile(fixture)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

/** Compiles the fixture in `mode` to a temp file and loads it. */
function load(mode: Mode): { js: string; module: { ChatController: new () => object; Announcer: new () => object; RoomFullError: typeof Error } } {
  const { outputText } = ts.transpileModule(readFileSync(fixture, 'utf8'), {
    compilerOptions: { ...compilerOptions(mode), noEmit: false },
    fileName: fixture,
  });
  const file = join(outDir, `chat-controller.${mode}.js`);
  writeFileSync(file, outputText);
  // Loaded through jest's registry: its '@stompkit/core' is the same module instance the test uses.
  return { js: outputText, module: require(file) };
}

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

let server: TestServer;
const clients = new Clients(() => server);

afterEach(async () => {
  clients.closeAll();
  await server?.close();
});

describe.each<Mode>(['standard', 'experimentalDecorators'])('decorated controllers (%s)', (mode) => {
  let loaded: ReturnType<typeof load>;

  beforeAll(() => {
    loaded = load(mode);
  });

  it('type-checks cleanly and compiles to that decorator mode', () => {
    expect(typeCheck(mode)).toEqual([]);
    if (mode === 'standard') expect(loaded.js).toContain('__esDecorate');
    else expect(loaded.js).toContain('__decorate(');
  });

  async function start(): Promise<void> {
    server = await startAppServer();
    server.broker.controllers(new loaded.module.ChatController(), new loaded.module.Announcer());
  }

  it('maps @MessageMapping under the class prefix and sends to @SendTo with placeholders', async () => {
    await start();
    const c = await clients.connect('alice');
    await subscribeLive(c, '/topic/rooms/lobby');
    const [m] = await sendJson(c, '/app/rooms/lobby/send', { text: 'hello' });
    expect(m.headers.destination).toBe('/topic/rooms/lobby');
    expect(json(m)).toEqual({ room: 'lobby', text: 'hello', from: 'alice' });
  });

  it('answers @SubscribeMapping once on the subscription, with the instance state', async () => {
    await start();
    const c = await clients.connect('alice');
    await subscribeLive(c, '/topic/rooms/lobby');
    await sendJson(c, '/app/rooms/lobby/send', { text: 'first' });
    c.send('SUBSCRIBE', { id: 'h', destination: '/app/rooms/lobby/history', receipt: 'r' });
    const [reply] = await untilReceipt(c, 'r');
    expect(reply.headers.subscription).toBe('h');
    expect(json(reply)).toEqual({ room: 'lobby', history: ['welcome', 'first'] });
  });

  it('replies to the sending session only with @SendToUser({ broadcast: false }) on an async method', async () => {
    await start();
    const a1 = await clients.connect('alice');
    const a2 = await clients.connect('alice');
    await subscribeLive(a1, '/user/queue/whispers');
    await subscribeLive(a2, '/user/queue/whispers');
    const [m] = await sendJson(a1, '/app/rooms/lobby/whisper', { text: 'psst' });
    expect(m.headers.destination).toBe('/user/queue/whispers');
    expect(json(m)).toEqual({ echo: 'psst' });
    const [n] = await sendJson(a2, '/app/rooms/lobby/whisper', { text: 'two' });
    expect(json(n)).toEqual({ echo: 'two' });
  });

  it("replies on '/topic' + path without @SendTo, and applies a class-level @SendTo", async () => {
    await start();
    const c = await clients.connect();
    await subscribeLive(c, '/topic/rooms/x/default');
    await subscribeLive(c, '/topic/announcements');
    const [d] = await sendJson(c, '/app/rooms/x/default', {});
    expect(d.headers.destination).toBe('/topic/rooms/x/default');
    const [a] = await sendJson(c, '/app/announce', { text: 'hi' });
    expect(a.headers.destination).toBe('/topic/announcements');
    expect(a.body.toString()).toBe('📣 hi');
  });

  it('routes errors to the @MessageExceptionHandler with the closest type, and its reply to its own @SendToUser', async () => {
    await start();
    const c = await clients.connect('alice');
    await subscribeLive(c, '/user/queue/room-errors');
    await subscribeLive(c, '/user/queue/errors');
    const [full] = await sendJson(c, '/app/rooms/lobby/send', { text: 'full' });
    expect(full.headers.destination).toBe('/user/queue/room-errors');
    expect(json(full)).toEqual({ kind: 'room-full', error: 'room lobby is full' });
    // Handled: the RECEIPT came, and the generic handler's reply goes to the default error destination.
    const [crash] = await sendJson(c, '/app/rooms/lobby/send', { text: 'crash' });
    expect(crash.headers.destination).toBe('/user/queue/errors');
    expect(json(crash)).toEqual({ kind: 'generic', error: 'crash', destination: '/app/rooms/lobby/send' });
  });

  it('validates with @ValidatePayload, invalid payloads reaching the exception handler', async () => {
    await start();
    const c = await clients.connect('alice');
    await subscribeLive(c, '/topic/rooms/r/count');
    await subscribeLive(c, '/user/queue/errors');
    const [ok] = await sendJson(c, '/app/rooms/r/count', { n: 41 });
    expect(json(ok)).toBe(42);
    const [bad] = await sendJson(c, '/app/rooms/r/count', { n: 'x' });
    expect(bad.headers.destination).toBe('/user/queue/errors');
    expect(json(bad)).toMatchObject({ kind: 'generic', error: 'invalid payload: n must be a number' });
  });
});

describe('controllers()', () => {
  it('refuses an object without mappings', async () => {
    server = await startAppServer();
    class Plain {
      hello(): void {}
    }
    expect(() => server.broker.controllers(new Plain())).toThrow('Plain has no @MessageMapping or @SubscribeMapping methods');
  });

  it('maps methods decorated by hand (the legacy call shape) and inherited ones', async () => {
    server = await startAppServer();
    class Base {
      ping(): string {
        return 'pong';
      }
    }
    const descriptor = Object.getOwnPropertyDescriptor(Base.prototype, 'ping')!;
    MessageMapping('/ping')(Base.prototype, 'ping', descriptor);
    SendTo('/topic/pong')(Base.prototype, 'ping', descriptor);
    class Derived extends Base {}
    server.broker.controllers(new Derived());
    const c = await clients.connect();
    await subscribeLive(c, '/topic/pong');
    const [m] = await sendJson(c, '/app/ping', {});
    expect(m.body.toString()).toBe('pong');
  });

  it('rejects decorators on things other than methods and classes', () => {
    expect(() => (MessageMapping('/x') as unknown as (v: unknown, c: unknown) => void)(undefined, { kind: 'field', name: 'f' })).toThrow(
      '@MessageMapping cannot decorate a field',
    );
  });
});
