/**
 * The wire-level conformance probes of conformance-probes.test.ts, unchanged, over STOMP on plain
 * TCP (`broker.listen`): the helpers' raw client and test server switch transport, so every probe
 * sends the same bytes on a TCP stream and asserts the same frames, closes and leak checks.
 */
import { useTransport } from '../helpers/transport';

useTransport('tcp');
// Loaded after the switch (a static import would be hoisted above it).
require('./conformance-probes.test');
