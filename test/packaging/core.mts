/**
 * A strict TypeScript consumer of @stompkit/core as installed from its tarball (test/packaging.test.ts
 * type-checks it with `module: nodenext`, `strict`, `skipLibCheck: false`). It touches every API the
 * README documents, so a declaration that does not resolve for a user (a missing `@types/*`, a path
 * outside the package) fails here. Type-checked only, never run.
 */
import { createServer, type IncomingMessage } from 'node:http';
import {
  createBroker,
  createInspector,
  isStompError,
  MessageExceptionHandler,
  MessageMapping,
  reject,
  SendTo,
  SendToUser,
  StompError,
  SubscribeMapping,
  ValidatePayload,
  type Authenticator,
  type BrokerOptions,
  type ChannelInterceptor,
  type HandlerContext,
  type HandlerMessage,
  type HandshakeInterceptor,
  type Principal,
  type ReceivedMessage,
  type StompBroker,
  type StompBrokerStats,
  type StompSession,
  type UserInfo,
} from '@stompkit/core';

const authenticate: Authenticator = async (info) => (info.login ? { name: info.login } : info.user);

const tokenFromQuery: HandshakeInterceptor = {
  before(req: IncomingMessage, ctx) {
    const token = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token');
    if (token === null) return { status: 401, reason: 'token required' };
    ctx.user = { name: token };
    ctx.attributes.set('token', token);
    return true;
  },
  after(_req, session) {
    void session.sessionId;
  },
};

const noShouting: ChannelInterceptor = {
  preSend(message) {
    if (message.command === 'SEND' && message.body.toString() === message.body.toString().toUpperCase()) {
      return reject('no shouting', { close: false });
    }
    return message;
  },
};

const options: BrokerOptions = {
  brokerPrefixes: ['/topic', '/queue'],
  queuePrefixes: ['/queue'],
  appPrefixes: ['/app'],
  userPrefix: '/user',
  errorDestination: '/queue/errors',
  heartbeat: [10000, 10000],
  heartbeatGrace: 2,
  serverName: 'consumer/1.0',
  authenticate,
  allowedOrigins: ['https://app.example', 'https://*.example.com'],
  handshake: [tokenFromQuery],
  interceptors: { inbound: [noShouting], outbound: [] },
  slowConsumerPolicy: 'drop-oldest',
  destinationSeparator: '/',
  selectors: true,
  limits: { maxFrameBytes: 1 << 20, maxHeaders: 100, connectTimeout: 30000, maxFramesPerSecond: 0, sendTimeLimit: 10000 },
  simpleBroker: { maxQueueDepth: 10000, queueOverflow: 'reject', maxDeliveries: 5, deadLetterDestination: (d: string) => `${d}.dlq`, defaultPrefetch: 0 },
  nodeId: 'node-1',
};

const broker: StompBroker = createBroker({ ...options, perMessageDeflate: false });

broker.handle('/chat/{room}', async (message: HandlerMessage<{ text: string }>, ctx: HandlerContext) => ({
  room: ctx.params.room,
  from: ctx.user?.name,
  text: message.payload.text,
}));
broker.subscribeMapping('/chat/{room}/history', (_message, ctx) => [{ room: ctx.params.room }]);
broker.handle('/echo', (message) => message.payload, { sendTo: '/topic/echo', sendToUser: { destination: '/queue/echo', broadcast: false } });

@MessageMapping('/rooms')
class RoomController {
  @MessageMapping('/{room}/join') @SendTo('/topic/rooms/{room}')
  join(message: HandlerMessage<{ name: string }>, ctx: HandlerContext) {
    return { joined: message.payload.name, room: ctx.params.room };
  }

  @MessageMapping('/dm') @SendToUser('/queue/dm')
  @ValidatePayload((payload: unknown) => payload as { text: string })
  dm(message: HandlerMessage<{ text: string }>) {
    return { text: message.payload.text };
  }

  @SubscribeMapping('/list')
  list() {
    return ['lobby'];
  }

  @MessageExceptionHandler(StompError)
  failed(error: Error) {
    return { error: error.message };
  }
}
broker.controllers(new RoomController());

const server = createServer((_req, res) => res.writeHead(404).end());
broker.attach(server, { path: '/ws' });
server.on('upgrade', (req, socket, head) => {
  if (req.url === '/other') broker.handleUpgrade(req, socket, head, { user: { name: 'svc' }, attributes: new Map() });
});

const inspector = createInspector(broker, { authorize: (req) => req.socket.remoteAddress === '127.0.0.1', path: '/stomp-inspector', pollInterval: 1000 });
createServer((req, res) => inspector(req, res, () => res.writeHead(404).end()));

export async function use(): Promise<void> {
  await broker.publish('/topic/news', { title: 'hi' }, { headers: { priority: 'high' }, contentType: 'application/json' });
  await broker.publish('/topic/bytes', Buffer.from([1, 2, 3]));
  await broker.template.send('/topic/news', 'text');
  await broker.template.sendToUser('alice', '/queue/dm', { text: 'hi' });
  const stop: () => void = broker.subscribe('/topic/news', (m: ReceivedMessage) => m.json<{ title: string }>().title + m.text());
  stop();
  broker.on('connected', (session: StompSession) => session.user?.name);
  broker.on('disconnect', (session, reason) => `${session.sessionId} ${reason.kind}`);
  const online: UserInfo[] = broker.users.list();
  const sessionIds: string[] = online.flatMap((u) => u.sessionIds);
  for (const id of sessionIds) {
    const session = broker.sessions.get(id);
    const principal: Principal | undefined = session?.user;
    void [principal, session?.version, session?.attributes, session?.subscriptions.size, session?.state, session?.origin, session?.remoteAddress];
  }
  broker.disconnectSession('some-id', 'bye');
  const stats: StompBrokerStats = broker.stats();
  void [stats.connections, stats.sessions, stats.messagesIn, stats.errorsByCode];
  try {
    await broker.close({ timeout: 5000, message: 'server shutting down', grace: 0 });
  } catch (err) {
    if (isStompError(err)) void err.code;
  }
}
