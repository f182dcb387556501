/**
 * Lets @fastify/websocket share the HTTP server with other WebSocket servers.
 *
 * @fastify/websocket routes every 'upgrade' on the server through Fastify, so an upgrade meant for
 * another listener (a second `ws` server on '/other', a dev server's HMR socket) gets a 404 written
 * on a socket that listener is already using. It accepts a `server` option to listen on instead,
 * so it is given this gate: the gate forwards only upgrades whose path matches a `{ websocket: true }`
 * route, or every upgrade when nobody else listens (then unknown paths still get Fastify's 404
 * instead of hanging). Route URLs are matched by shape: static segments exactly, a ':param'
 * segment as any one segment, '*' as the rest.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { requestPath, silentLogger, type Logger } from '@stompkit/core';

export class UpgradeGate extends EventEmitter {
  private readonly routes: RegExp[] = [];
  private server: Server | undefined;

  constructor(private readonly logger: Logger = silentLogger) {
    super();
  }

  /** Records a WebSocket route's URL (as Fastify reports it in onRoute, prefix included). */
  addRoute(url: string): void {
    this.routes.push(routePattern(url));
  }

  /** Starts forwarding upgrades from `server`. */
  open(server: Server): void {
    this.server = server;
    server.on('upgrade', this.onUpgrade);
  }

  close(): void {
    this.server?.off('upgrade', this.onUpgrade);
    this.server = undefined;
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = requestPath(req);
    if (this.routes.some((route) => route.test(path))) {
      this.emit('upgrade', req, socket, head);
    } else if (this.server?.listenerCount('upgrade') === 1) {
      this.logger.warn({ status: 404, url: req.url }, 'websocket upgrade refused: no websocket route at this path');
      this.emit('upgrade', req, socket, head);
    }
  };
}

function routePattern(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => {
      if (segment === '*') return '.*';
      if (segment.includes(':') || segment.includes('*')) return '[^/]+';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}$`);
}
