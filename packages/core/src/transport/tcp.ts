/**
 * STOMP over plain TCP and TLS (`node:net`, `node:tls`): the transport backend services use
 * (stompit, stomp.py, Java clients; port 61613 by convention).
 *
 * A TCP connection is a byte stream, not a sequence of messages: a chunk may hold part of a frame,
 * several frames, or heart-beat EOLs between them. Every chunk goes to the session as it arrived;
 * the session's decoder is incremental (codec/decoder.ts) and keeps the unfinished frame across
 * chunks, so nothing here looks at STOMP bytes.
 *
 * Writes are coalesced as on WebSocket (transport/stream-connection.ts): frames sent within one
 * cork leave in one socket write, and a big shared MESSAGE body fanned out to many TCP clients is
 * written by reference, never copied per recipient.
 *
 * There is no HTTP handshake on TCP: no origin, no handshake interceptors. A TLS client that
 * presented a certificate the server trusts (`tls.requestCert` + `tls.ca`) starts with the
 * certificate's principal (its subject CN by default); every client then goes through the
 * broker's `authenticate` hook on CONNECT (`login`/`passcode`), exactly as WebSocket clients do.
 */
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import {
  createServer as createTlsServer,
  type PeerCertificate,
  type TLSSocket,
  type TlsOptions,
} from 'node:tls';
import type { Connection, ConnectionEndpoint } from '../session/connection';
import type { Principal } from '../options';
import type { Logger } from '../logger';
import { StreamConnection } from './stream-connection';

export interface TcpListenOptions {
  /** TCP port; 0 picks a free one (read it from the listener's `port`). Default 0. */
  port?: number;
  /**
   * Interface to bind. Default: Node's default for `server.listen` (every interface, IPv6 and
   * IPv4), like an http.Server and like RabbitMQ's STOMP listener. Pass '127.0.0.1' to serve only
   * this machine.
   */
  host?: string;
  /**
   * Serve STOMP over TLS with these Node `tls.createServer` options (`cert`, `key`, ...). With
   * `requestCert: true` and a `ca`, clients may present certificates; an authorized client starts
   * with the principal of its certificate (see `certificatePrincipal`). Default: plain TCP.
   */
  tls?: TlsOptions;
  /**
   * The principal of an authorized TLS client certificate; `undefined` = none. The broker's
   * `authenticate` hook still runs on CONNECT and sees it as `user`. Default: `{ name: <subject CN> }`.
   */
  certificatePrincipal?: (certificate: PeerCertificate) => Principal | undefined;
  /** Connection backlog of the listening socket. Default: Node's (511). */
  backlog?: number;
  /**
   * ms to wait, after the server ended a connection (ERROR, DISCONNECT, shutdown), for the client
   * to close its side before the socket is destroyed. Default 5000.
   */
  closeTimeout?: number;
}

/** Takes an accepted connection with its starting principal (the broker starts a session on it). */
export type TcpAccept = (connection: TcpConnection, user: Principal | undefined) => void;

const kConnection = Symbol('stompkit.tcp-connection');

interface BoundSocket extends Socket {
  [kConnection]: TcpConnection;
}

// Module-level listeners (`this` is the socket): no closure per connection.
function onData(this: Socket, chunk: Buffer): void {
  (this as BoundSocket)[kConnection].endpoint?.receive(chunk);
}
function onClose(this: Socket): void {
  (this as BoundSocket)[kConnection].closed();
}
function onError(this: Socket, err: Error): void {
  // The socket closes itself after an error ('close' follows).
  (this as BoundSocket)[kConnection].endpoint?.transportError(err, undefined);
}
function onCloseTimeout(socket: Socket): void {
  socket.destroy();
}

export class TcpConnection extends StreamConnection implements Connection {
  readonly transport: 'tcp' | 'tls';
  declare readonly socket: Socket;
  private closeTimer: NodeJS.Timeout | undefined = undefined;

  constructor(
    socket: Socket,
    private readonly closeTimeout = 5000,
  ) {
    super(socket, undefined);
    this.transport = (socket as Partial<TLSSocket>).encrypted === true ? 'tls' : 'tcp';
    (socket as BoundSocket)[kConnection] = this;
    socket.setNoDelay(true);
    // Until bind(), an error only needs to be swallowed: 'close' follows it.
    socket.on('error', onError);
    socket.on('close', onClose);
  }

  /** Frames are concatenated on the stream; `binary` has no meaning on TCP. */
  sendFrame(parts: readonly Buffer[], binary: boolean): void {
    if (this.closing || this.socket.destroyed) return;
    this.enqueue(parts, binary);
  }

  protected get writable(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  /** Flushes what was sent, then ends the stream (TCP has no close code: `code` and `reason` are not sent). */
  close(_code: number, _reason: string): void {
    if (this.closing) return;
    this.flushNow();
    this.closing = true;
    const socket = this.socket;
    if (socket.destroyed) return;
    // Read on (and drop) what the peer still sends, so its FIN is seen even if the session had
    // paused reading, and unread data never turns our close into a reset that loses the ERROR.
    socket.resume();
    socket.end();
    if (this.closeTimeout > 0) {
      this.closeTimer = setTimeout(onCloseTimeout, this.closeTimeout, socket);
      this.closeTimer.unref();
    }
  }

  terminate(): void {
    this.closing = true;
    this.discardPending();
    this.socket.destroy();
  }

  bind(endpoint: ConnectionEndpoint): void {
    this.endpoint = endpoint;
    this.socket.on('data', onData);
  }

  /** @internal The socket closed. */
  closed(): void {
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    this.closeTimer = undefined;
    this.closing = true;
    this.discardPending();
    this.endpoint?.transportClosed(undefined);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (!this.closing) this.socket.resume();
  }
}

/** The principal of an authorized client certificate: its subject CN. */
export function certificateCommonName(certificate: PeerCertificate): Principal | undefined {
  const cn = certificate.subject?.CN as string | string[] | undefined;
  const name = Array.isArray(cn) ? cn[0] : cn;
  return typeof name === 'string' && name.length > 0 ? { name } : undefined;
}

/**
 * One listening TCP or TLS server feeding connections to the broker. Returned by
 * `broker.listen()`; `close()` stops accepting (like http.Server's close, the sessions already
 * accepted go on until they end or the broker closes).
 */
export class TcpListener {
  readonly server: NetServer;
  /** 'tls' when serving TLS. */
  readonly transport: 'tcp' | 'tls';
  private readonly connections = new Set<TcpConnection>();
  private readonly closeTimeout: number;
  private readonly certificatePrincipal: (certificate: PeerCertificate) => Principal | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly onConnection: TcpAccept,
    private readonly logger: Logger,
    private readonly options: TcpListenOptions = {},
  ) {
    this.closeTimeout = options.closeTimeout ?? 5000;
    this.certificatePrincipal = options.certificatePrincipal ?? certificateCommonName;
    if (options.tls !== undefined) {
      this.transport = 'tls';
      const server = createTlsServer(options.tls, (socket) => this.accept(socket));
      server.on('tlsClientError', (err, socket) => {
        logger.debug({ err, remoteAddress: socket.remoteAddress }, 'TLS handshake failed');
      });
      this.server = server;
    } else {
      this.transport = 'tcp';
      this.server = createNetServer((socket) => this.accept(socket));
    }
  }

  /** Starts listening; resolves once bound (rejects with the bind error, e.g. EADDRINUSE). */
  start(): Promise<this> {
    const server = this.server;
    return new Promise((resolve, reject) => {
      const failed = (err: Error): void => reject(err);
      server.once('error', failed);
      server.listen({ port: this.options.port ?? 0, host: this.options.host, backlog: this.options.backlog }, () => {
        server.off('error', failed);
        this.bound = server.address() as AddressInfo;
        server.on('error', (err) => this.logger.error({ err }, 'STOMP TCP listener error'));
        resolve(this);
      });
    });
  }

  private bound: AddressInfo | undefined;

  /** The bound address (kept after close()). */
  get address(): AddressInfo {
    return (this.bound ??= this.server.address() as AddressInfo);
  }

  /** The bound port (the chosen one when listening on port 0). */
  get port(): number {
    return this.address.port;
  }

  /** Live connections of this listener. */
  get connectionCount(): number {
    return this.connections.size;
  }

  private accept(socket: Socket): void {
    if (this.closing !== undefined) {
      socket.destroy();
      return;
    }
    const connection = new TcpConnection(socket, this.closeTimeout);
    this.connections.add(connection);
    socket.once('close', () => this.connections.delete(connection));
    let user: Principal | undefined;
    const tlsSocket = socket as Partial<TLSSocket>;
    if (tlsSocket.encrypted === true && tlsSocket.authorized === true) {
      const certificate = tlsSocket.getPeerCertificate?.();
      if (certificate !== undefined && Object.keys(certificate).length > 0) user = this.certificatePrincipal(certificate);
    }
    this.onConnection(connection, user);
  }

  /**
   * Stops accepting connections and resolves once the listening socket is closed. Connections
   * already accepted stay with their sessions; the broker's close() ends them (or end them with
   * `broker.disconnectSession`).
   */
  close(): Promise<void> {
    // net.Server.close() unbinds at once but calls back only once every connection ended, so the
    // promise does not wait for its callback.
    if (this.closing === undefined) {
      if (this.server.listening) this.server.close();
      this.closing = Promise.resolve();
    }
    return this.closing;
  }
}
