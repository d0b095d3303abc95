import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * The lint rule that keeps domain/ free of I/O must really apply to domain files (a later
 * config block once replaced it silently). Lints in-memory sources as if they were domain files.
 */
const eslint = new ESLint();

async function restrictedImports(source: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('domain/ stays pure', () => {
  it.each([
    ["import { MongoClient } from 'mongodb';", 'mongodb'],
    ["import { connect } from '@nats-io/transport-node';", 'NATS'],
    ["import { readFileSync } from 'node:fs';", 'node:fs'],
    ["import { parse } from 'graphql';", 'graphql'],
    ["import { startGraphQLService } from '@happyride/platform';", 'the platform package'],
  ])('given a domain file importing %s (%s), when linted, then the import is refused', async (source) => {
    const messages = await restrictedImports(`${source}\nexport const x = 1;\n`, 'domain/src/trip/forbidden.ts');
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('domain/ is pure');
  });

  it('given a domain file importing only the domain, when linted, then nothing is refused', async () => {
    expect(await restrictedImports("import { computeFare } from '@happyride/domain/fare';\nexport const y = computeFare;\n", 'domain/src/trip/allowed.ts')).toEqual([]);
  });

  it('given a subgraph importing the NATS client, when linted, then it is told to use the event store', async () => {
    const messages = await restrictedImports("import { connect } from '@nats-io/transport-node';\nexport const c = connect;\n", 'subgraphs/trip-queries/src/x.ts');
    expect(messages).toEqual([expect.stringContaining('@happyride/eventstore')]);
  });
});
