/**
 * What the Express suites share: servers and @stomp/stompjs clients started by a test are closed
 * after it (clients deactivated, then `stomp.close()`, then the HTTP server and its connections).
 */
import type { Server } from 'node:http';
import type { Client } from '@stomp/stompjs';
import type { StompExpress } from '@stompkit/express';

export interface Closable {
  stomp: StompExpress;
  server: Server;
}

/** Registers the afterEach; push what a test starts into the returned lists. */
export function closeAfterEach<R extends Closable>(): { running: R[]; clients: Client[] } {
  const running: R[] = [];
  const clients: Client[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.deactivate()));
    for (const r of running.splice(0)) {
      await r.stomp.close({ timeout: 1000 });
      r.server.closeAllConnections();
      await new Promise<void>((resolve) => r.server.close(() => resolve()));
    }
  });
  return { running, clients };
}
