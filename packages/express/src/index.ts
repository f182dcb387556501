/**
 * @stompkit/express: STOMP over WebSocket for Express 4 and 5.
 *
 *   const broker = createBroker({ allowedOrigins: ['https://app.example'] });
 *   const stomp = stompExpress(broker, { path: '/ws', middleware: [session, passport.session()] });
 *   app.use(stomp);                         // req.stomp: the messaging template
 *   stomp.attach(app.listen(8080));         // the one line that hooks 'upgrade'
 */
import type { StompBroker } from '@stompkit/core';

export { stompExpress } from './stomp-express';
export type { ExpressInspectorOptions, StompExpress, StompExpressOptions } from './stomp-express';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The broker's messaging template (`req.stomp.send('/topic/news', payload)`), set by `app.use(stomp)`. */
      stomp: StompBroker['template'];
    }
  }
}
