/**
 * `npm run nats:config`: writes deploy/nats-server.conf and deploy/nats-cluster/*.conf (docker
 * compose's NATS users) from the permission lists, and deploy/mongo-users.js (its MongoDB users)
 * from the services' secrets table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { clusterNatsConfigFile, clusterNatsNodes, composeNatsConfigFile, renderComposeNatsConfig } from './compose-nats-config.ts';
import { mongoUsersFile, renderMongoUsers } from './service-secrets.ts';

writeFileSync(composeNatsConfigFile, renderComposeNatsConfig());
console.log(`wrote ${fileURLToPath(composeNatsConfigFile)}`);
for (const node of clusterNatsNodes) {
  const file = clusterNatsConfigFile(node);
  mkdirSync(new URL('.', file), { recursive: true });
  writeFileSync(file, renderComposeNatsConfig({ node }));
  console.log(`wrote ${fileURLToPath(file)}`);
}
writeFileSync(mongoUsersFile, renderMongoUsers());
console.log(`wrote ${fileURLToPath(mongoUsersFile)}`);
