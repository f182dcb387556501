/**
 * SockJS on Fastify: the routes under the SockJS path, so every SockJS request — HTTP or
 * WebSocket upgrade — goes through the app's hooks (auth) like any route, then to core's
 * SockJsEndpoint.
 *
 * - onRequest: core's origin check (403), before any auth work.
 * - preHandler, after the app's own hooks: the principal (the session's on the request that opens
 *   a SockJS session; checked against it on later ones), then the reply is hijacked and the raw request handed to sockjs. An upgrade too:
 *   @fastify/websocket routes it through Fastify but would upgrade it with `ws`, while sockjs
 *   upgrades with its own WebSocket library, so the socket and head are taken from the server's
 *   'upgrade' event before @fastify/websocket sees it.
 * - The routes live in their own encapsulated context whose only body parser leaves the body
 *   unread: sockjs reads xhr_send bodies itself.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal, SockJsEndpoint, StompBroker } from '@stompkit/core';
import type { UpgradeGate } from './upgrade-gate';

type PrincipalOf = (request: FastifyRequest) => Principal | undefined | Promise<Principal | undefined>;

export async function mountSockJs(
  fastify: FastifyInstance,
  broker: StompBroker,
  endpoint: SockJsEndpoint,
  principal: PrincipalOf,
  gate: UpgradeGate | undefined,
  stompPath: string,
): Promise<void> {
  const upgrades = new WeakMap<IncomingMessage, { socket: Duplex; head: Buffer }>();
  fastify.server.prependListener('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (endpoint.matches(req)) upgrades.set(req, { socket, head });
  });
  // Our gate forwards upgrades only for known WebSocket routes: SockJS's are under its path.
  gate?.addRoute(`${endpoint.path}/*`);

  await fastify.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

    const onRequest = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      const refused = broker.handshake.checkOrigin(request.raw);
      if (refused !== undefined) return refuse(reply, refused.status, refused.reason ?? 'Forbidden');
      return undefined;
    };
    const preHandler = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const user = await principal(request);
      const init = { user, attributes: new Map<string, unknown>() };
      const upgrade = upgrades.get(request.raw);
      reply.hijack();
      if (upgrade !== undefined) {
        upgrades.delete(request.raw);
        // @fastify/websocket lent the socket to a ServerResponse for routing; sockjs writes to it now.
        reply.raw.detachSocket(upgrade.socket as never);
        endpoint.handleUpgrade(request.raw, upgrade.socket, upgrade.head, init);
      } else {
        endpoint.handleRequest(request.raw, reply.raw, init);
      }
    };
    // A refused upgrade is an ordinary reply on the socket; then the socket must close.
    const onResponse = async (request: FastifyRequest): Promise<void> => {
      if (request.raw.headers.upgrade !== undefined) request.raw.socket?.destroy();
    };
    // SockJS at the STOMP path itself (Spring's `addEndpoint(path).withSockJS()`): the STOMP route
    // keeps GET `path` (its upgrade); SockJS needs only what lies under it (`/info`, sessions).
    const urls = endpoint.path === stompPath ? [`${endpoint.path}/*`] : [endpoint.path, `${endpoint.path}/*`];
    for (const url of urls) {
      scope.route({
        method: ['GET', 'POST', 'OPTIONS'],
        url,
        onRequest,
        preHandler,
        onResponse,
        // Never reached: preHandler hijacks every request.
        handler: async () => undefined,
      });
    }
  });
}

function refuse(reply: FastifyReply, status: number, reason: string): FastifyReply {
  return reply.code(status).header('connection', 'close').type('text/plain; charset=utf-8').send(reason);
}
