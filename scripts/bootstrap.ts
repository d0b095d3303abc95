/**
 * `npm run bootstrap`: creates or updates the event stream and every durable consumer in the
 * catalogue (eventstore/src/consumers.ts). `npm start` and the tests do this themselves; run it
 * by hand against external servers (docker compose runs it as a one-shot service).
 */
import { bootstrapEventLog, connectNats, consumerDefinitions, EVENTS_STREAM } from '@happyride/eventstore';
import { envUrl } from '@happyride/platform';

const nats = await connectNats(envUrl(process.env, 'NATS_URL', ['nats', 'tls']), 'bootstrap');
await bootstrapEventLog(nats.jsm);
console.log(`stream ${EVENTS_STREAM} and consumers ${Object.values(consumerDefinitions).map((c) => c.name).join(', ')} are in place`);
await nats.close();
