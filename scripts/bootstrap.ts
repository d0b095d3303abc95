/**
 * `npm run bootstrap`: creates or updates the event stream and every durable consumer in the
 * catalogue (eventstore/src/consumers.ts), with `EVENT_STREAM_REPLICAS` copies (default 1).
 * `npm start` and the tests do this themselves; run it by hand against external servers
 * (docker compose runs it as a one-shot service).
 */
import { bootstrapEventLog, connectNats, consumerDefinitions, EVENTS_STREAM } from '@happyride/eventstore';
import { readEventStreamReplicas, readIdempotencyBounds, readNatsUrl } from '@happyride/platform';

const natsUrl = readNatsUrl(process.env);
const replicas = readEventStreamReplicas(process.env);
const nats = await connectNats(natsUrl, 'bootstrap');
await bootstrapEventLog(nats.jsm, undefined, { replicas, bounds: readIdempotencyBounds(process.env) });
console.log(`stream ${EVENTS_STREAM} and consumers ${Object.values(consumerDefinitions).map((c) => c.name).join(', ')} are in place`);
await nats.close();
