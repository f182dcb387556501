/**
 * The inspector on Fastify: the plugin's `inspector` option. Core builds the page and the
 * snapshot; here they become three ordinary GET routes (`path`, `path/`, `path/data.json`; HEAD
 * too) whose preHandler asks `authorize(request)` — after the app's own auth hooks, so it can read
 * `request.user` — and answers 403 unless it returns true.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InspectorModel, inspectorPath, JSON_HEADERS, pageHeaders, renderPage, type InspectorOptions, type StompBroker } from '@stompkit/core';

/** Core's InspectorOptions, with `authorize` given the Fastify request. */
export interface FastifyInspectorOptions extends Omit<InspectorOptions, 'authorize'> {
  /** true lets the request see the inspector; anything else is a 403. May be async. Required. */
  authorize: (request: FastifyRequest) => boolean | Promise<boolean>;
}

export function mountInspector(fastify: FastifyInstance, broker: StompBroker, options: FastifyInspectorOptions): void {
  const path = inspectorPath(options);
  const { authorize } = options;
  const model = new InspectorModel(broker, options);
  const pageOptions = { title: options.title ?? 'stompkit inspector', pollInterval: options.pollInterval ?? 1000 };

  const preHandler = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if ((await authorize(request)) !== true) {
      await reply.code(403).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send('Forbidden');
    }
  };
  const page = async (_request: FastifyRequest, reply: FastifyReply): Promise<string> => {
    const nonce = randomBytes(16).toString('base64');
    reply.headers(pageHeaders(nonce));
    return renderPage(pageOptions, nonce);
  };
  const data = async (_request: FastifyRequest, reply: FastifyReply): Promise<string> => {
    reply.headers(JSON_HEADERS);
    return JSON.stringify(model.snapshot());
  };

  fastify.get(path, { preHandler }, page);
  const slash = path === '/' ? undefined : path + '/';
  if (slash !== undefined) {
    try {
      fastify.get(slash, { preHandler }, page);
    } catch (err) {
      // With ignoreTrailingSlash the route above already serves `path/`.
      if ((err as { code?: unknown }).code !== 'FST_ERR_DUPLICATED_ROUTE') throw err;
    }
  }
  fastify.get((slash ?? '/') + 'data.json', { preHandler }, data);
}
