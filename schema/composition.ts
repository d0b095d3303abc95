import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { readFileSync } from 'node:fs';
import { defaultUrl, subgraphs } from './subgraphs.ts';

export const repoRoot = new URL('../', import.meta.url);
export const supergraphFile = new URL('schema/supergraph.graphql', repoRoot);

/** Composes the supergraph from every subgraph's SDL; throws with all composition errors. */
export function composeSupergraph(): string {
  const result = composeServices(
    subgraphs.map((entry) => ({
      name: entry.name,
      url: defaultUrl(entry),
      typeDefs: parse(readFileSync(new URL(entry.sdl, repoRoot), 'utf8')),
    })),
  );
  if (result.errors) {
    throw new Error(`Supergraph composition failed:\n${result.errors.map((error) => `- ${error.message}`).join('\n')}`);
  }
  return result.supergraphSdl;
}
