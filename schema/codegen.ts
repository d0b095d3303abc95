/** `npm run schema:codegen`: writes each subgraph's `src/generated/resolvers-types.ts` from its SDL. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from './composition.ts';
import { generateResolverTypes } from './resolver-types.ts';

for (const { path, content } of await generateResolverTypes()) {
  const file = fileURLToPath(new URL(path, repoRoot));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
  console.log(`wrote ${file}`);
}
