import { getVariableValues, GraphQLError, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';

/**
 * A subscription's variables as its feed is keyed on them: only those its operation defines
 * (validation makes every defined one used), coerced by their types, in one canonical text.
 * Junk variables beside them, another key order, or `5` for an `ID` sent as `"5"` give the
 * same key, so identical subscriptions share one live feed whatever else their clients send.
 */
export type FeedVariables =
  | {
      /** What the client sent for the defined variables, and nothing else: what the reads send. */
      variables: Record<string, unknown>;
      /** The same, coerced (`ID` as a string, defaults filled in). */
      coerced: Record<string, unknown>;
      /** The coerced values as canonical JSON (object keys sorted): the feed key's part. */
      key: string;
    }
  | { errors: readonly GraphQLError[] };

/** @example feedVariables(schema, operation, { t: 5, junk: 1 }) // → { variables: { t: 5 }, coerced: { t: '5' }, key: '{"t":"5"}' } */
export function feedVariables(schema: GraphQLSchema, operation: OperationDefinitionNode, sent: unknown): FeedVariables {
  const definitions = operation.variableDefinitions ?? [];
  const given = isPlainObject(sent) ? sent : {};
  // fromEntries: a variable named `__proto__` stays a plain own property.
  const variables = Object.fromEntries(definitions.map((d) => d.variable.name.value).filter((name) => Object.hasOwn(given, name)).map((name) => [name, given[name]]));
  const result = getVariableValues(schema, definitions, variables, { maxErrors: 10 });
  if (result.errors) return { errors: result.errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes ?? null, extensions: { code: 'BAD_USER_INPUT' } })) };
  return { variables, coerced: result.coerced, key: JSON.stringify(canonical(result.coerced)) };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/** The value with every plain object's keys sorted (arrays keep their order). */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, canonical(value[key])]),
  );
}
