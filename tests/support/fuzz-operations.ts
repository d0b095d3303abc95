import fc from 'fast-check';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationTypeNode,
} from 'graphql';

/**
 * Arbitraries for the gateway fuzzer: valid operations built from a schema with random
 * arguments (some as variables), documents mutated the ways a hostile client would, and the
 * request shapes they travel in. Pure: they only build strings and values.
 */

/** A piece of a document: its text, with `$§` where each variable goes, and those variables in order. */
interface Piece {
  text: string;
  variables: Array<{ type: string; value: unknown }>;
}

const VARIABLE = '$§';
const join = (pieces: Piece[], separator = ' '): Piece => ({
  text: pieces.map((p) => p.text).join(separator),
  variables: pieces.flatMap((p) => p.variables),
});

const ids = fc.oneof(
  fc.constantFrom('p1', 'd1', 't1', 'fuzz-passenger', 'fuzz-driver', '00000000-0000-4000-8000-000000000000', '', ' ', '../etc', 'a'.repeat(129)),
  fc.string({ maxLength: 24 }),
);
const strings = fc.oneof({ weight: 4, arbitrary: fc.string({ maxLength: 24 }) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) }, { weight: 1, arbitrary: fc.constantFrom('Ada', 'x'.repeat(101), '\u0000', '\n\t', 'Zoë 🚕') });
const ints = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: -3, max: 120 }) }, { weight: 1, arbitrary: fc.integer() }, { weight: 1, arbitrary: fc.constantFrom(0, -1, 100, 101, 2 ** 31 - 1, -(2 ** 31)) });
const floats = fc.oneof(fc.double({ min: -200, max: 200, noNaN: true }), fc.constantFrom(0, -0, 39.9087, 116.3975, 90, 180, -91, 1e308, 5e-324));
const dates = fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), strings);

/** A GraphQL literal for a JSON value of an input type (enums bare, objects with bare keys). */
function literal(value: unknown, type: GraphQLInputType): string {
  if (value === null) return 'null';
  if (isNonNullType(type)) return literal(value, type.ofType);
  if (isListType(type)) return `[${(value as unknown[]).map((v) => literal(v, type.ofType)).join(', ')}]`;
  if (isEnumType(type)) return String(value);
  if (isInputObjectType(type)) {
    const fields = type.getFields();
    return `{ ${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}: ${literal(v, fields[k]!.type)}`)
      .join(', ')} }`;
  }
  return JSON.stringify(value);
}

/**
 * What goes in a scalar slot instead of the defaults below, by scalar name (`ID`, `String`…):
 * the authorization fuzzer puts other people's ids and operator objects there.
 */
export type ScalarValues = Partial<Record<string, fc.Arbitrary<unknown>>>;

/** How operations are generated: scalar values by type name, and whether fields get aliases (which may clash). */
interface Generation {
  scalars: ScalarValues;
  aliases: boolean;
}

/** A value of an input type, mostly well-typed, sometimes null where null is allowed. */
function valueOf(type: GraphQLInputType, depth = 0, scalars: ScalarValues = {}): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) return valueOf(type.ofType, depth, scalars);
  const inner = ((): fc.Arbitrary<unknown> => {
    if (isListType(type)) return fc.array(valueOf(type.ofType, depth + 1, scalars), { maxLength: depth > 2 ? 0 : 3 });
    if (isEnumType(type)) return fc.constantFrom(...type.getValues().map((v) => v.name));
    if (isInputObjectType(type)) {
      const fields = Object.values(type.getFields());
      return fc.record(Object.fromEntries(fields.map((f) => [f.name, valueOf(f.type, depth + 1, scalars)])), {
        requiredKeys: fields.filter((f) => isNonNullType(f.type)).map((f) => f.name),
      });
    }
    const given = scalars[type.name];
    if (given) return given;
    switch (type.name) {
      case 'Int':
        return ints;
      case 'Float':
        return floats;
      case 'Boolean':
        return fc.boolean();
      case 'ID':
        return ids;
      case 'DateTime':
        return dates;
      default:
        return strings;
    }
  })();
  return fc.oneof({ weight: 9, arbitrary: inner }, { weight: 1, arbitrary: fc.constant(null) });
}

function argumentsOf(args: readonly GraphQLArgument[], { scalars }: Generation): fc.Arbitrary<Piece> {
  if (args.length === 0) return fc.constant({ text: '', variables: [] });
  const each = args.map((arg) => {
    const given = fc.record({ value: valueOf(arg.type, 0, scalars), asVariable: fc.boolean() }).map(({ value, asVariable }): Piece =>
      asVariable
        ? { text: `${arg.name}: ${VARIABLE}`, variables: [{ type: String(arg.type), value }] }
        : { text: `${arg.name}: ${literal(value, arg.type)}`, variables: [] },
    );
    return isNonNullType(arg.type) ? given : fc.option(given, { nil: undefined });
  });
  return fc.tuple(...each).map((pieces) => {
    const present = join(pieces.filter((p): p is Piece => p !== undefined), ', ');
    return present.text ? { ...present, text: `(${present.text})` } : present;
  });
}

function fieldOf(field: GraphQLField<unknown, unknown>, depth: number, generation: Generation): fc.Arbitrary<Piece> {
  const named: GraphQLNamedType = getNamedType(field.type);
  const sub: fc.Arbitrary<Piece> = isObjectType(named)
    ? depth <= 0
      ? fc.constant({ text: '{ __typename }', variables: [] })
      : selectionOf(named, depth - 1, generation).map((p) => ({ ...p, text: `{ ${p.text} }` }))
    : fc.constant({ text: '', variables: [] });
  return fc
    .tuple(generation.aliases ? fc.option(fc.constantFrom('a', 'b', 'again'), { freq: 8, nil: undefined }) : fc.constant(undefined), argumentsOf(field.args, generation), sub)
    .map(([alias, args, selection]) => ({ text: `${alias ? `${alias}: ` : ''}${field.name}${args.text} ${selection.text}`.trim(), variables: [...args.variables, ...selection.variables] }));
}

function selectionOf(type: GraphQLObjectType, depth: number, generation: Generation): fc.Arbitrary<Piece> {
  const fields = Object.values(type.getFields());
  return fc
    .subarray(fields, { minLength: 1, maxLength: Math.min(4, fields.length) })
    .chain((chosen) => fc.tuple(...chosen.map((f) => fieldOf(f, depth, generation))))
    .map((pieces) => join(pieces));
}

export interface Operation {
  query: string;
  variables: Record<string, unknown>;
}

/** An operation on one root type of the schema, with `$v0…` variables and their values. */
export function operationOf(
  schema: GraphQLSchema,
  kind: 'query' | 'mutation' | 'subscription',
  { maxDepth = 3, scalars = {}, aliases = true, rootFields }: { maxDepth?: number; scalars?: ScalarValues; aliases?: boolean; rootFields?: (name: string) => boolean } = {},
): fc.Arbitrary<Operation> {
  const root = schema.getRootType(kind as OperationTypeNode) ?? schema.getType(kind[0]!.toUpperCase() + kind.slice(1));
  if (!isObjectType(root)) throw new Error(`the schema has no ${kind} type`);
  const fields = Object.values(root.getFields()).filter((f) => !rootFields || rootFields(f.name));
  const rootSelection = (kind === 'subscription' ? fc.constantFrom(...fields).map((f) => [f]) : fc.subarray(fields, { minLength: 1, maxLength: Math.min(2, fields.length) }))
    .chain((chosen) => fc.tuple(...chosen.map((f) => fieldOf(f, maxDepth, { scalars, aliases }))))
    .map((pieces) => join(pieces));
  return rootSelection.map((piece) => {
    let n = 0;
    const text = piece.text.replaceAll(VARIABLE, () => `$v${n++}`);
    const definitions = piece.variables.map((v, i) => `$v${i}: ${v.type}`).join(', ');
    return {
      query: `${kind} Fuzz${definitions ? `(${definitions})` : ''} { ${text} }`,
      variables: Object.fromEntries(piece.variables.map((v, i) => [`v${i}`, v.value])),
    };
  });
}

/** The fragment bomb: each fragment spreads the next `branching` times. */
export const fragmentBomb = (levels: number, branching = 2, leaf = '__typename') =>
  `query Bomb { ...F0 } ${Array.from({ length: levels }, (_, i) => `fragment F${i} on Query { ${`...F${i + 1} `.repeat(branching)}}`).join(' ')} fragment F${levels} on Query { ${leaf} }`;

const hugeNumbers = fc.constantFrom('9'.repeat(400), '-1', '1e400', '2147483648', '-2147483649', '0.5', '1.7976931348623157e309', 'NaN', '0x10');

/** What a hostile client makes of an operation (or sends instead of one). */
export function mutationOf(operation: fc.Arbitrary<Operation>): fc.Arbitrary<Operation & { mutation: string }> {
  return fc.oneof(
    fc.tuple(operation, fc.nat()).map(([o, n]) => ({ ...o, query: o.query.slice(0, n % (o.query.length + 1)), mutation: 'truncated' })),
    fc.tuple(operation, fc.integer({ min: 1, max: 400 })).map(([o, n]) => ({ ...o, query: o.query.replace('{', `{ ${'trip(id: "t1") { '.repeat(n % 30)}${'a { '.repeat(n)} id ${'} '.repeat(n)}${'} '.repeat(n % 30)}`), mutation: 'nested' })),
    fc.integer({ min: 1, max: 60 }).map((n) => ({ query: `{ ${Array.from({ length: n }, (_, i) => `a${i}: tripStats { total }`).join(' ')} }`, variables: {}, mutation: 'aliased' })),
    fc
      .tuple(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 4 }), fc.constantFrom('__typename', 'tripStats { total }', 'myTrips { edges { node { id passenger { name } } } }', '__schema { types { name } }'))
      .map(([levels, branching, leaf]) => ({ query: fragmentBomb(levels, branching, leaf), variables: {}, mutation: 'fragment-heavy' })),
    fc.integer({ min: 1, max: 60 }).map((n) => ({
      query: `{ __schema { ${'types { fields { type { '.repeat(n % 5)}${'ofType { '.repeat(n)} name ${'} '.repeat(n)}${'} } } '.repeat(n % 5)}} }`,
      variables: {},
      mutation: 'introspection',
    })),
    fc.tuple(operation, hugeNumbers).map(([o, n]) => ({ ...o, query: o.query.replace(/-?\b\d+(\.\d+)?\b/, n), mutation: 'huge-number' })),
    fc.tuple(hugeNumbers, fc.constantFrom('myTrips', 'trips', 'deadLetters')).map(([n, field]) => ({ query: `{ ${field}(first: ${n}) { __typename } }`, variables: {}, mutation: 'huge-number' })),
    fc.tuple(fc.integer({ min: 1_000, max: 400_000 }), fc.boolean()).map(([n, asVariable]) =>
      asVariable
        ? { query: 'query ($id: ID!) { passenger(id: $id) { id name } }', variables: { id: 'x'.repeat(n) }, mutation: 'huge-string' }
        : { query: `{ passenger(id: "${'x'.repeat(n)}") { id name } }`, variables: {}, mutation: 'huge-string' },
    ),
    fc.tuple(operation, fc.dictionary(fc.constantFrom('v0', 'v1', 'v2', 'v3'), fc.jsonValue({ maxDepth: 3 }))).map(([o, variables]) => ({ ...o, variables, mutation: 'wrong-types' })),
    fc.tuple(operation, fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz_'), minLength: 1, maxLength: 12 })).map(([o, name]) => ({ ...o, query: o.query.replace('{', `{ ${name} `), mutation: 'unknown-field' })),
    fc.tuple(operation, operation).map(([a, b]) => ({ query: `${a.query.replace(/^(\w+) Fuzz/, '$1 ')} ${b.query}`, variables: { ...a.variables, ...b.variables }, mutation: 'two-operations' })),
    fc.tuple(operation, fc.constantFrom('@skip(if: true)', '@include(if: $nope)', '@unknown', '@deprecated', '@skip(if: 1)')).map(([o, directive]) => ({ ...o, query: o.query.replace(/(\w)( *[({])/, `$1 ${directive}$2`), mutation: 'directive' })),
    fc.string({ unit: 'binary', maxLength: 300 }).map((query) => ({ query, variables: {}, mutation: 'random-text' })),
  );
}

export type HttpShape =
  | { kind: 'post'; body: Record<string, unknown> }
  | { kind: 'get'; params: Record<string, string>; preflight: boolean }
  | { kind: 'batch'; body: unknown[] }
  | { kind: 'bytes'; body: Uint8Array; contentType: string | undefined }
  | { kind: 'json'; body: unknown };

/** The request an operation travels in, or something that is not one at all. */
export function httpShapeOf(operation: fc.Arbitrary<Operation>): fc.Arbitrary<HttpShape> {
  const asBody = (o: Operation, operationName: string | undefined) => ({ query: o.query, variables: o.variables, ...(operationName ? { operationName } : {}) });
  const operationName = fc.option(fc.constantFrom('Fuzz', 'Bomb', 'Nope', ''), { freq: 4, nil: undefined });
  return fc.oneof(
    { weight: 12, arbitrary: fc.tuple(operation, operationName).map(([o, name]): HttpShape => ({ kind: 'post', body: asBody(o, name) })) },
    {
      weight: 3,
      arbitrary: fc.tuple(operation, fc.boolean()).map(([o, preflight]): HttpShape => ({ kind: 'get', params: { query: o.query, variables: JSON.stringify(o.variables) }, preflight })),
    },
    { weight: 2, arbitrary: fc.array(operation, { maxLength: 3 }).map((list): HttpShape => ({ kind: 'batch', body: list.map((o) => asBody(o, undefined)) })) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.uint8Array({ maxLength: 2_000 }), fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/graphql', undefined))
        .map(([body, contentType]): HttpShape => ({ kind: 'bytes', body, contentType })),
    },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((body): HttpShape => ({ kind: 'json', body })) },
    {
      // Numbers JSON.parse reads as Infinity or -0 in variables.
      weight: 1,
      arbitrary: fc.tuple(operation, fc.constantFrom('1e400', '-1e400', '-0', '1e-400')).map(([o, n]): HttpShape => ({
        kind: 'bytes',
        body: new TextEncoder().encode(JSON.stringify({ query: o.query, variables: o.variables }).replace(/(?<=[:[,])-?\d+(\.\d+)?([eE][-+]?\d+)?(?=[,\]}])/g, n)),
        contentType: 'application/json',
      })),
    },
  );
}
