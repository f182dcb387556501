/**
 * Shared by the relay suites: whether RabbitMQ's STOMP plugin is reachable (checked once,
 * synchronously, so a suite can decide between describe and describe.skip), a cross-process lock
 * that runs the relay suites one at a time (the restart suite stops RabbitMQ, which would break a
 * suite running beside it in another jest worker), and relay-backed test nodes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { RelayBroker } from '../../src';
import type { BrokerOptions, Principal } from '../../src/options';
import { startServer, type TestServer } from '../helpers/server';

export const RABBIT_STOMP_PORT = 61613;

const probe = spawnSync(
  process.execPath,
  ['-e', `require('net').connect(${RABBIT_STOMP_PORT},'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))`],
  { timeout: 3000 },
);
export const rabbitReachable = probe.status === 0;

/** `describe` when RabbitMQ's STOMP port answers or CI=true (then a missing RabbitMQ fails the suite); else a loud skip. */
export function describeRelay(name: string, fn: () => void): void {
  if (rabbitReachable || process.env.CI === 'true' || process.env.CI === '1') {
    describe(name, fn);
    return;
  }
  console.warn(
    `SKIPPED relay suite "${name}": RabbitMQ's STOMP plugin is not reachable on 127.0.0.1:${RABBIT_STOMP_PORT}. ` +
      'To run it: install RabbitMQ, then run `sudo bash scripts/rabbitmq-stomp.sh` once (enables the STOMP plugin on loopback), then `npm test`. Under CI=true these suites never skip.',
  );
  describe.skip(name, fn);
}

/** A short random suffix for unique destination, queue and cluster names. */
export function unique(): string {
  return randomBytes(5).toString('hex');
}

const LOCK = join(tmpdir(), 'stompkit-relay-tests.lock');

function holderAlive(): boolean {
  try {
    const pid = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until no other relay suite (in any jest worker) runs, then holds the lock until `release`. */
export async function acquireRelayLock(timeoutMs = 170_000): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      return () => rmSync(LOCK, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A holder that died (killed test run) or has not written its pid for a while leaves a stale lock.
      if (!holderAlive()) {
        await new Promise((r) => setTimeout(r, 200));
        if (!holderAlive()) rmSync(LOCK, { recursive: true, force: true });
      }
      if (Date.now() > deadline) throw new Error('timed out waiting for another relay suite to finish');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Runs rabbitmqctl (the relay suites run where RabbitMQ does, as a user allowed to manage it). */
export function rabbitmqctl(...args: string[]): string {
  return execFileSync('rabbitmqctl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}

/**
 * A RabbitMQ virtual host of its own for one suite (guest may use it): the durable queues the
 * tests create go away with it (`deleteVhost`), and suites never see each other's traffic.
 */
export function createVhost(): string {
  const vhost = `stompkit-test-${unique()}`;
  rabbitmqctl('add_vhost', vhost);
  rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
  return vhost;
}

export function deleteVhost(vhost: string | undefined): void {
  if (vhost === undefined) return;
  try {
    rabbitmqctl('delete_vhost', vhost);
  } catch {
    // RabbitMQ stopped meanwhile (a failed restart test); nothing left to tidy that we can reach.
  }
}

export const loginAuthenticator = (info: { login?: string }): Principal | undefined => (info.login ? { name: info.login } : undefined);

export interface RelayNode extends TestServer {
  relay: RelayBroker;
  nodeId: string;
}

/** A broker node on an ephemeral port whose broker is the relay to the local RabbitMQ. */
export async function startRelayNode(cluster: string, name: string, virtualHost = '/', extra: BrokerOptions = {}): Promise<RelayNode> {
  const server = await startServer({
    ...extra,
    nodeId: `${name}-${unique()}`,
    authenticate: loginAuthenticator,
    heartbeat: [0, 0],
    relay: { cluster, virtualHost, registryInterval: 300, connections: 2, reconnectDelay: 100, maxReconnectDelay: 500, heartbeat: [2000, 2000] },
  });
  const relay = server.broker.broker as RelayBroker;
  await relay.ready(10_000);
  return { ...server, relay, nodeId: server.broker.nodeId };
}

/** Polls `predicate` until it holds (or fails after `timeoutMs`). */
export async function eventually(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
