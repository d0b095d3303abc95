import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './composition.ts';
import { generateResolverTypes } from './resolver-types.ts';

describe('the committed resolver types', () => {
  it('given the subgraphs SDL, when the resolver types are generated, then each equals its committed src/generated/resolvers-types.ts (run `npm run schema:codegen` if not)', async () => {
    const generated = await generateResolverTypes();
    expect(generated).toHaveLength(5);
    for (const { path, content } of generated) {
      const committed = readFileSync(new URL(path, repoRoot), 'utf8');
      expect(content, `${path} is stale: run \`npm run schema:codegen\``).toBe(committed);
    }
  }, 30_000);
});
