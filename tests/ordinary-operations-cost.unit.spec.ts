/**
 * Ordinary client operations stay well under the cost limit: at most half of the default. They
 * are collected from where they live, not copied: the simulator's operations, the explorer's
 * default document and the examples it lists, the README's examples (request bodies and inline
 * operations) and the operations the tests' driver and passenger apps send (tests/support).
 */
import { parse, validate, type DocumentNode } from 'graphql';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_QUERY } from '../gateway/src/explorer/page.ts';
import { defaultOperationLimits } from '../gateway/src/plugins/operation-limits.ts';
import * as simulatorOperations from '../simulator/src/operations.ts';
import { apiSchema, costOf } from './support/graph-costs.ts';

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

const parses = (text: string): DocumentNode | undefined => {
  try {
    return parse(text);
  } catch {
    return undefined;
  }
};
const OPERATION_START = /^\s*(query|mutation|subscription|\{)/;

/** The explorer's default document and the examples its comment lists (`#   mutation { … }`, over several lines). */
function explorerOperations(): string[] {
  const lines = DEFAULT_QUERY.split('\n');
  const from = lines.findIndex((line) => line.startsWith('# Try'));
  const listed = lines.slice(from + 1);
  const examples = listed
    .slice(0, listed.findIndex((line) => !line.startsWith('#   ')))
    .map((line) => line.slice(1))
    .join('\n')
    .split(/\n(?=\s*(?:query|mutation|subscription)\b)/);
  return [DEFAULT_QUERY, ...examples];
}

/** README: the `"query":"…"` bodies of its curl examples, and inline code that is a whole GraphQL operation (not a MongoDB filter). */
function readmeOperations(): string[] {
  const readme = read('README.md');
  const bodies = [...readme.matchAll(/"query":"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]!.replace(/\\\\"/g, '\\"')}"`) as string);
  const inline = [...readme.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!).filter((code) => {
    const document = OPERATION_START.test(code) ? parses(code) : undefined;
    return document !== undefined && validate(apiSchema, document).length === 0;
  });
  return [...new Set([...bodies, ...inline])];
}

/** The string literals in tests/support that are operations (the apps' requests the tests make). */
function supportOperations(): string[] {
  const dir = new URL('tests/support/', root);
  return readdirSync(dir)
    .filter((file) => file.endsWith('.ts') && !file.startsWith('fuzz'))
    .flatMap((file) => [...readFileSync(new URL(file, dir), 'utf8').matchAll(/'((?:query|mutation|subscription)\b[^'\n]*)'/g)].map((m) => m[1]!));
}

const simulator = (Object.values(simulatorOperations) as unknown[]).filter((value): value is string => typeof value === 'string' && OPERATION_START.test(value));

const collected = [
  ...simulator.map((query) => ({ source: 'simulator', query })),
  ...explorerOperations().map((query) => ({ source: 'explorer', query })),
  ...readmeOperations().map((query) => ({ source: 'README', query })),
  ...supportOperations().map((query) => ({ source: 'tests/support', query })),
];

describe('ordinary client operations stay well under the cost limit', () => {
  it('given every operation collected, then each is a valid operation of the graph', () => {
    expect(simulator.length).toBeGreaterThanOrEqual(10);
    expect(collected.filter((c) => c.source === 'explorer').length).toBeGreaterThanOrEqual(4);
    expect(collected.filter((c) => c.source === 'README').length).toBeGreaterThanOrEqual(3);
    expect(collected.filter((c) => c.source === 'tests/support').length).toBeGreaterThanOrEqual(8);
    for (const { source, query } of collected) expect({ source, query, errors: validate(apiSchema, parse(query)).map((e) => e.message) }).toEqual({ source, query, errors: [] });
  });

  it.each(collected)('given $source: $query, then it costs at most half the default limit', ({ query }) => {
    expect(costOf(query)).toBeLessThanOrEqual(defaultOperationLimits.maxCost / 2);
  });
});
