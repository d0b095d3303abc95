/** `npm run nats:config`: writes deploy/nats-server.conf (docker compose's NATS users) from the permission lists. */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { composeNatsConfigFile, renderComposeNatsConfig } from './compose-nats-config.ts';

writeFileSync(composeNatsConfigFile, renderComposeNatsConfig());
console.log(`wrote ${fileURLToPath(composeNatsConfigFile)}`);
