import { ApolloServer } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import fc from 'fast-check';
import {
  execute,
  getNamedType,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  GraphQLScalarType,
  isEnumType,
  isInputObjectType,
  isObjectType,
  Kind,
  parse,
  validate,
  visit,
  type DocumentNode,
  type TypeNode,
  type GraphQLSchema,
} from 'graphql';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { subgraphs } from '../../schema/subgraphs.ts';
import { operationOf } from '../../tests/support/fuzz-operations.ts';
import { formatErrorFor } from './graphql-errors.ts';
import { inputGuardPlugin, invalidIds } from './input-guard.ts';
import { subgraphSchema } from './subgraph-schema.ts';

/**
 * Every subgraph's root fields, with generated arguments (literals and variables, hostile ids
 * among them): the guard refuses an operation exactly when one of the IDs execution would hand a
 * resolver is not an id. The oracle is the executor itself, on a copy of the schema whose `ID`
 * records every value it coerces.
 */
const ID_FORMAT = /^[A-Za-z0-9_-]{1,64}$/;
const sdlOf = (path: string) => parse(readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8'));

function nullable(type: TypeNode): TypeNode {
  if (type.kind === Kind.NON_NULL_TYPE) return nullable(type.type);
  if (type.kind === Kind.LIST_TYPE) return { ...type, type: nullable(type.type) };
  return type;
}

/** The same SDL with `ID` replaced by `RecordedId`, which coerces as `ID` does and records what it coerced. */
function recordingSchema(typeDefs: DocumentNode, recorded: unknown[]): GraphQLSchema {
  const renamed = visit(typeDefs, {
    NamedType: (node) => (node.name.value === 'ID' ? { ...node, name: { ...node.name, value: 'RecordedId' } } : undefined),
    // Every field nullable: a null result never stops a mutation's later root fields from running.
    FieldDefinition: { leave: (node) => ({ ...node, type: nullable(node.type) }) },
  });
  const coerce = (value: unknown) => {
    if (typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))) return recorded.push(String(value)), String(value);
    throw new GraphQLError('not an ID');
  };
  const RecordedId = new GraphQLScalarType({
    name: 'RecordedId',
    parseValue: coerce,
    parseLiteral: (ast) => (ast.kind === Kind.STRING || ast.kind === Kind.INT ? coerce(ast.kind === Kind.INT ? Number(ast.value) : ast.value) : undefined),
  });
  // (not subgraphSchema: its entity guard knows ID keys, not this scalar; _entities is not under test here)
  return buildSubgraphSchema([{ typeDefs: { ...renamed, definitions: [...renamed.definitions, ...parse('scalar RecordedId').definitions] }, resolvers: { RecordedId } }]);
}

const hostileIds = fc.oneof(
  fc.stringMatching(ID_FORMAT),
  fc.constantFrom<unknown>('', ' ', 'a'.repeat(65), 'x'.repeat(5_000), 'p1\u0000', '../etc', '*', '.*', 'p1 ', 'ä', 0, 42, -1, 1.5, { $ne: '' }, { $regex: '.' }, ['p1'], null),
  fc.string({ maxLength: 70 }),
);

const schemas = subgraphs.map((entry) => {
  const typeDefs = sdlOf(entry.sdl);
  const recorded: unknown[] = [];
  return { name: entry.name, schema: subgraphSchema(typeDefs, {}), recording: recordingSchema(typeDefs, recorded), recorded };
});

describe('the ID guard (invalidIds): an operation is refused exactly when an ID it carries is not an id', () => {
  for (const { name, schema, recording, recorded } of schemas) {
    it(`given generated ${name} operations, then refused ⇔ some ID the executor coerces is outside the id format`, async () => {
      const kinds = (['query', 'mutation'] as const).filter((kind) => {
        const root = kind === 'query' ? schema.getQueryType() : schema.getMutationType();
        return root && Object.keys(root.getFields()).some((f) => !f.startsWith('_'));
      });
      const operations = fc.oneof(...kinds.map((kind) => operationOf(schema, kind, { scalars: { ID: hostileIds }, rootFields: (f) => !f.startsWith('_') })));
      const seen = { refused: 0, passed: 0, notCoerced: 0 };
      await fc.assert(
        fc.asyncProperty(operations, async ({ query, variables }) => {
          let document: DocumentNode;
          try {
            document = parse(query);
          } catch {
            return; // an operator object written as a literal: not GraphQL at all
          }
          if (validate(schema, document).length > 0) return; // a literal of the wrong type: validation's (see below)
          const operation = getOperationAST(document)!;
          const refused = invalidIds(schema, document, operation, variables);
          if ('errors' in getVariableValues(schema, operation.variableDefinitions ?? [], variables)) {
            seen.notCoerced++;
            return void expect(refused).toEqual([]); // execution refuses these with BAD_USER_INPUT itself
          }
          recorded.length = 0;
          await execute({ schema: recording, document: parse(query.replace(/(\$v\d+: \[?)ID\b/g, '$1RecordedId')), variableValues: variables, fieldResolver: () => null });
          const outside = recorded.filter((id) => typeof id !== 'string' || !ID_FORMAT.test(id));
          expect(refused.length > 0, `${query} ${JSON.stringify(variables)} → ${JSON.stringify(refused)}; coerced ${JSON.stringify(recorded)}`).toBe(outside.length > 0);
          expect(refused).toHaveLength(outside.length);
          if (refused.length > 0) seen.refused++;
          else seen.passed++;
        }),
        { numRuns: 300 },
      );
      console.info(`input guard, ${name}: ${JSON.stringify(seen)}`);
      // both sides of the property were seen
      expect(seen.refused).toBeGreaterThan(0);
      expect(seen.passed).toBeGreaterThan(0);
    });
  }
});

describe('through Apollo (the pipeline every subgraph and the gateway run): wrong types and bad ids are BAD_USER_INPUT', () => {
  /** Root field arguments of every subgraph, each given a literal of the wrong kind. */
  const wrongLiterals = schemas.flatMap(({ name, schema }) =>
    [schema.getQueryType(), schema.getMutationType()].flatMap((root) =>
      !root || !isObjectType(root)
        ? []
        : Object.values(root.getFields())
            .filter((field) => !field.name.startsWith('_'))
            .flatMap((field) =>
              field.args.map((arg) => {
                const named = getNamedType(arg.type);
                const kind = root === schema.getQueryType() ? 'query' : 'mutation';
                const selection = isObjectType(getNamedType(field.type)) ? '{ __typename }' : '';
                return { name, schema, kind, field: field.name, arg: arg.name, takesObject: isInputObjectType(named), isEnum: isEnumType(named), selection };
              }),
            ),
    ),
  );
  const servers = new Map(schemas.map(({ name, schema }) => [name, new ApolloServer({ schema, plugins: [inputGuardPlugin()], formatError: formatErrorFor({ exposeInternals: false, onInternalError: () => undefined }) })]));
  const run = async (name: string, query: string, variables: Record<string, unknown> = {}) => {
    const response = await servers.get(name)!.executeOperation({ query, variables });
    if (response.body.kind !== 'single') throw new Error('an incremental answer');
    return { status: response.http.status, codes: response.body.singleResult.errors?.map((e) => e.extensions?.code) };
  };

  it(`given a scalar where an input object belongs, or an object or list where a scalar does, written in the document, then BAD_USER_INPUT (${wrongLiterals.length} arguments)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...wrongLiterals), fc.constantFrom('{ ne: "" }', '{ regex: "." }', '[1, 2]', '["p1"]', '"p1"', '42', 'true', '1.5'), async (c, literal) => {
        const wrongKind = c.takesObject ? !literal.startsWith('{') : literal.startsWith('{') || literal.startsWith('[') || (c.isEnum ? /^["\d]|true/.test(literal) : false);
        if (!wrongKind) return;
        const answer = await run(c.name, `${c.kind} { ${c.field}(${c.arg}: ${literal}) ${c.selection} }`);
        expect(answer.codes, `${c.field}(${c.arg}: ${literal})`).toContain('BAD_USER_INPUT');
        expect(answer.codes?.every((code) => code === 'BAD_USER_INPUT' || code === 'GRAPHQL_VALIDATION_FAILED')).toBe(true);
        expect(answer.status).toBe(400);
      }),
      { numRuns: 200 },
    );
  });

  it('given an operator object or a non-id string as an ID variable, then BAD_USER_INPUT with HTTP 400 before any resolver', async () => {
    for (const id of [{ $ne: '' }, { $regex: '.' }, ['p1'], 'x'.repeat(65), 'p1\u0000', '']) {
      const answer = await run('profile-queries', 'query ($id: ID!) { driver(id: $id) { name } }', { id });
      expect(answer.codes, JSON.stringify(id)).toEqual(['BAD_USER_INPUT']);
      expect(answer.status).toBe(400);
    }
  });
});
