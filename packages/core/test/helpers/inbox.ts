/**
 * An inbox for one @stomp/stompjs subscription, used by tests over every transport (WebSocket,
 * SockJS) and by the chat example's tests. It resolves only once the server confirmed the
 * SUBSCRIBE with a RECEIPT, so a message published afterwards is certain to be routed to it.
 */
import type { Client, IMessage, StompHeaders } from '@stomp/stompjs';

export interface Inbox {
  /** Messages received and not yet taken by next(). */
  readonly messages: IMessage[];
  /** Takes the oldest message, waiting for one up to `timeoutMs` (default 5000). */
  next(timeoutMs?: number): Promise<IMessage>;
  /** next(), its body parsed as JSON. */
  nextJson<T = any>(timeoutMs?: number): Promise<T>;
}

/** Subscribes; resolves once the server confirmed (RECEIPT) — for a subscribe mapping, after its reply was sent. */
export async function listen(client: Client, destination: string, headers: StompHeaders = {}): Promise<Inbox> {
  const messages: IMessage[] = [];
  let wake: (() => void) | undefined;
  const receipt = `r-${Math.random().toString(36).slice(2)}`;
  const confirmed = new Promise<void>((resolve) => client.watchForReceipt(receipt, () => resolve()));
  client.subscribe(
    destination,
    (m) => {
      messages.push(m);
      wake?.();
    },
    { ...headers, receipt },
  );
  await confirmed;
  const next = async (timeoutMs = 5000): Promise<IMessage> => {
    const deadline = Date.now() + timeoutMs;
    while (messages.length === 0) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for a message on ${destination}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return messages.shift()!;
  };
  return {
    messages,
    next,
    async nextJson(timeoutMs) {
      return JSON.parse((await next(timeoutMs)).body);
    },
  };
}
