import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { composeSupergraph, supergraphFile } from './composition.ts';

describe('the committed supergraph', () => {
  it('given the subgraphs SDL, when composed, then it equals schema/supergraph.graphql (run `npm run schema:compose` if not)', () => {
    const committed = readFileSync(supergraphFile, 'utf8');
    expect(composeSupergraph(), 'schema/supergraph.graphql is stale: run `npm run schema:compose`').toBe(committed);
  });
});
