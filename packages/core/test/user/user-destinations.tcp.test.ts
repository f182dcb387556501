/**
 * user-destinations.test.ts, unchanged, over STOMP on plain TCP (`broker.listen`): the helpers' raw client and
 * test server switch transport (helpers/transport.ts), so the same frames and assertions run on a
 * TCP stream.
 */
import { useTransport } from '../helpers/transport';

useTransport('tcp');
// Loaded after the switch (a static import would be hoisted above it).
require('./user-destinations.test');
