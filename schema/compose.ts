/** `npm run schema:compose`: writes schema/supergraph.graphql from the subgraphs' SDL. */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { composeSupergraph, supergraphFile } from './composition.ts';

writeFileSync(supergraphFile, composeSupergraph());
console.log(`wrote ${fileURLToPath(supergraphFile)}`);
