/**
 * @stompkit/fastify: STOMP over WebSocket for Fastify 5, on @fastify/websocket.
 *
 *   const broker = createBroker({ allowedOrigins: ['https://app.example'] });
 *   await app.register(stompPlugin, { broker, path: '/ws' });
 *   app.post('/news', async (req) => app.stomp.send('/topic/news', req.body));
 *   await app.close();                     // drains STOMP sessions
 */
export { stompPlugin } from './stomp-plugin';
export type { StompPluginOptions } from './stomp-plugin';
export type { FastifyInspectorOptions } from './inspector';
export { stompPlugin as default } from './stomp-plugin';
