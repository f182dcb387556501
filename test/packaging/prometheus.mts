/** The README's Prometheus snippet, for a consumer with prom-client installed (type-checked only). */
import * as client from 'prom-client';
import { collectPrometheusMetrics, createBroker } from '@stompkit/core';

const broker = createBroker();
collectPrometheusMetrics(broker, { client, register: client.register, prefix: 'stompkit_' });
