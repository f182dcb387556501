/**
 * Which transport the shared test helpers use: raw clients (helpers/raw-client.ts) and test
 * servers (helpers/server.ts) speak WebSocket by default. A suite that runs the same probes over
 * TCP calls useTransport('tcp') before loading them (see fuzz/conformance-probes.tcp.test.ts); the
 * module registry is per test file, so the choice never leaks into another file.
 */
export type TestTransport = 'websocket' | 'tcp';

let current: TestTransport = 'websocket';

export function useTransport(transport: TestTransport): void {
  current = transport;
}

export function testTransport(): TestTransport {
  return current;
}

/**
 * What the transport under test can carry beyond STOMP bytes: WebSocket close codes, and the
 * text/binary kind of a message. TCP carries neither (a closed TCP connection has no code).
 */
export function carries(): { closeCodes: boolean; messageKinds: boolean } {
  const ws = current === 'websocket';
  return { closeCodes: ws, messageKinds: ws };
}
