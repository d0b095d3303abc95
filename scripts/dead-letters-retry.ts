/**
 * `npm run dead-letters:retry -- [--consumer <name>]`: after a fix, asks the consumers to apply
 * their parked commits again (all consumers, or one). The running projector / saga worker picks
 * the request up within `retryPollMs` and applies each parked aggregate's commits in stream
 * order; an aggregate whose commit fails again stays parked with the new error.
 */
import { connectMongo, envString, envUrl, MongoDeadLetterStore } from '@happyride/platform';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { consumer: { type: 'string' } } });
const mongo = await connectMongo(envUrl(process.env, 'MONGODB_URL', ['mongodb', 'mongodb+srv']), envString(process.env, 'MONGODB_DATABASE', 'happyride'), 'dead-letters-retry');
try {
  const marked = await new MongoDeadLetterStore(mongo.db).requestRetry(values.consumer);
  console.log(`retry requested for ${marked} dead letter(s)${values.consumer ? ` of ${values.consumer}` : ''}`);
} finally {
  await mongo.close();
}
