import { isValidId } from '@happyride/domain';
import {
  getNamedType,
  GraphQLError,
  isObjectType,
  isScalarType,
  Kind,
  parse,
  valueFromASTUntyped,
  type ConstDirectiveNode,
  type GraphQLFieldResolver,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';

/**
 * The most representations one `_entities` call may carry. The gateway sends one per entity of a
 * fetch, without deduplication, and its cost limit bounds how many entities one operation reaches
 * (about 1,600 when every field costs 1 under a limit of 5,000: 8 aliased pages of 100 trips,
 * each with its passenger and driver; a handful when each entity hop is priced from its measured
 * cost), so 2,000 never refuses the gateway, and it caps what a caller posting straight to a
 * subgraph can make it read (2-3 reads per profile) at 2,000 entities per request.
 */
export const MAX_ENTITY_REPRESENTATIONS = 2_000;

/** A representation as a resolver gets it: its type name and its key fields, each checked by type. */
export type EntityReference = { __typename: string } & Record<string, string | number | boolean>;

type KeyScalar = 'ID' | 'String' | 'Int' | 'Boolean';
/** One `@key` of an entity: its field names, each with its scalar type. */
type Key = ReadonlyArray<{ name: string; type: KeyScalar }>;

const badInput = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
const MAX_KEY_STRING = 256;
const describe = (value: unknown) => (Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value === 'object' ? 'an object' : typeof value);

function directiveArgument(directive: ConstDirectiveNode, name: string): unknown {
  const argument = directive.arguments?.find((a) => a.name.value === name);
  return argument ? valueFromASTUntyped(argument.value) : undefined;
}

/** The resolvable `@key`s of an entity type of this subgraph (none: not an entity it resolves). */
function keysOf(type: GraphQLObjectType): Key[] {
  const directives = [type.astNode, ...type.extensionASTNodes].flatMap((node) => node?.directives ?? []).filter((d) => d.name.value === 'key');
  return directives
    .filter((directive) => directiveArgument(directive, 'resolvable') !== false)
    .map((directive) => {
      const fields = directiveArgument(directive, 'fields');
      if (typeof fields !== 'string') throw new Error(`${type.name}: @key without fields`);
      const selections = parse(`{ ${fields} }`, { noLocation: true }).definitions[0];
      if (selections?.kind !== Kind.OPERATION_DEFINITION) throw new Error(`${type.name}: @key(fields: ${JSON.stringify(fields)}) is not a selection`);
      return selections.selectionSet.selections.map((selection) => {
        if (selection.kind !== Kind.FIELD || selection.selectionSet) throw new Error(`${type.name}: only flat @key fields are checked, not ${JSON.stringify(fields)}`);
        const named = getNamedType(type.getFields()[selection.name.value]?.type);
        if (!isScalarType(named) || !['ID', 'String', 'Int', 'Boolean'].includes(named.name)) {
          throw new Error(`${type.name}: key field ${selection.name.value} must be an ID, String, Int or Boolean`);
        }
        return { name: selection.name.value, type: named.name as KeyScalar };
      });
    });
}

/** Every entity type this subgraph resolves, with its keys. */
export function entityKeys(schema: GraphQLSchema): ReadonlyMap<string, Key[]> {
  const keys = new Map<string, Key[]>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const own = keysOf(type);
    if (own.length > 0) keys.set(type.name, own);
  }
  return keys;
}

function keyValue(value: unknown, type: KeyScalar, where: string): string | number | boolean {
  switch (type) {
    case 'ID':
      if (typeof value === 'string' && isValidId(value)) return value;
      throw badInput(`${where} must be an id (1 to 64 letters, digits, '_' or '-'); got ${describe(value)}.`);
    case 'String':
      if (typeof value === 'string' && value.length <= MAX_KEY_STRING) return value;
      throw badInput(`${where} must be a string of at most ${MAX_KEY_STRING} characters; got ${describe(value)}.`);
    case 'Int':
      if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
      throw badInput(`${where} must be an integer; got ${describe(value)}.`);
    case 'Boolean':
      if (typeof value === 'boolean') return value;
      throw badInput(`${where} must be true or false; got ${describe(value)}.`);
  }
}

/**
 * One representation, parsed by its type name: a plain object whose `__typename` names an entity
 * this subgraph resolves and whose other fields are exactly one of its `@key`s, each value of its
 * field's type (an id in the id format). What comes back is a new object holding only those, so
 * nothing the caller added (an operator object, an extra field) reaches a resolver or a filter.
 * Anything else is `BAD_USER_INPUT`.
 */
export function parseRepresentation(keys: ReadonlyMap<string, Key[]>, representation: unknown, index: number): EntityReference {
  const where = `representations[${index}]`;
  if (typeof representation !== 'object' || representation === null || Array.isArray(representation)) {
    throw badInput(`${where} must be an object with __typename and the entity's key fields; got ${describe(representation)}.`);
  }
  const { __typename, ...fields } = representation as Record<string, unknown>;
  const entityKeysOfType = typeof __typename === 'string' ? keys.get(__typename) : undefined;
  if (!entityKeysOfType) {
    const known = [...keys.keys()].join(', ') || 'none';
    throw badInput(`${where}.__typename must name an entity this service resolves (${known}).`);
  }
  const names = Object.keys(fields);
  const key = entityKeysOfType.find((k) => k.length === names.length && k.every((f) => Object.hasOwn(fields, f.name)));
  if (!key) {
    const expected = entityKeysOfType.map((k) => k.map((f) => f.name).join(' ')).join('" or "');
    throw badInput(`${where} must hold exactly the key fields of ${__typename as string} ("${expected}").`);
  }
  const reference: EntityReference = { __typename: __typename as string };
  for (const field of key) reference[field.name] = keyValue(fields[field.name], field.type, `${where}.${field.name}`);
  return reference;
}

/** The whole list: bounded, and each representation parsed (the first bad one refuses the request). */
export function parseRepresentations(keys: ReadonlyMap<string, Key[]>, representations: unknown, max = MAX_ENTITY_REPRESENTATIONS): EntityReference[] {
  if (!Array.isArray(representations)) throw badInput('representations must be a list.');
  if (representations.length > max) throw badInput(`representations holds ${representations.length} entries; at most ${max} per request.`);
  return representations.map((representation, index) => parseRepresentation(keys, representation, index));
}

/**
 * Puts the guard in front of a subgraph's `_entities` (which `@apollo/subgraph` hands `_Any`
 * values to `__resolveReference` as sent): every subgraph's entities get typed, bounded
 * references, whoever calls, the gateway or a client posting straight to the subgraph.
 */
export function guardEntities(schema: GraphQLSchema, { max = MAX_ENTITY_REPRESENTATIONS }: { max?: number } = {}): GraphQLSchema {
  const field = schema.getQueryType()?.getFields()._entities;
  if (!field) return schema;
  const keys = entityKeys(schema);
  const resolve = field.resolve as GraphQLFieldResolver<unknown, unknown, { representations: unknown }>;
  field.resolve = (source, args, context, info) => resolve(source, { representations: parseRepresentations(keys, args.representations, max) }, context, info);
  return schema;
}
