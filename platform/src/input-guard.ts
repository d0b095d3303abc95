import type { ApolloServerPlugin, BaseContext, GraphQLRequestListener } from '@apollo/server';
import { isValidId } from '@happyride/domain';
import {
  getNamedType,
  getNullableType,
  getVariableValues,
  GraphQLError,
  isInputObjectType,
  isListType,
  Kind,
  TypeInfo,
  valueFromAST,
  visit,
  visitWithTypeInfo,
  type ArgumentNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';

/**
 * Every `ID` a client can send in this API is an aggregate id (a trip, a passenger, a driver),
 * which travels in NATS subjects and MongoDB filters: the id format (`validId`). GraphQL's `ID`
 * takes any string or integer, so this guard holds each one to the format before any resolver
 * (or, at the gateway, any subgraph) sees it.
 */

/** Whether the type holds an `ID` anywhere (in a list, in an input object's fields). */
function holdsId(type: GraphQLInputType, seen = new Set<string>()): boolean {
  const named = getNamedType(type);
  if (named.name === 'ID') return true;
  if (!isInputObjectType(named) || seen.has(named.name)) return false;
  seen.add(named.name);
  return Object.values(named.getFields()).some((field) => holdsId(field.type, seen));
}

/** Each `ID` in a coerced value, with where it is. */
function* idsIn(value: unknown, type: GraphQLInputType, path: string): Generator<{ path: string; value: unknown }> {
  if (value === null || value === undefined) return;
  const nullable = getNullableType(type);
  if (isListType(nullable)) {
    const items = Array.isArray(value) ? value : [value];
    for (const [index, item] of items.entries()) yield* idsIn(item, nullable.ofType, `${path}[${index}]`);
  } else if (isInputObjectType(nullable)) {
    for (const field of Object.values(nullable.getFields())) yield* idsIn((value as Record<string, unknown>)[field.name], field.type, `${path}.${field.name}`);
  } else if (nullable.name === 'ID') {
    yield { path, value };
  }
}

/** An argument that holds an ID somewhere, and its declared type. */
interface IdSite {
  field: string;
  argument: ArgumentNode;
  type: GraphQLInputType;
}

/** The fragments an operation spreads, directly or through other fragments. */
function fragmentsOf(document: DocumentNode, operation: OperationDefinitionNode): FragmentDefinitionNode[] {
  const byName = new Map(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]));
  const found = new Map<string, FragmentDefinitionNode>();
  const pending: Array<OperationDefinitionNode | FragmentDefinitionNode> = [operation];
  while (pending.length > 0) {
    visit(pending.pop()!, {
      FragmentSpread(spread) {
        const fragment = byName.get(spread.name.value);
        if (fragment && !found.has(fragment.name.value)) {
          found.set(fragment.name.value, fragment);
          pending.push(fragment);
        }
      },
    });
  }
  return [...found.values()];
}

/** Per schema and parsed operation (Apollo reuses one document per query text): where its IDs are. */
const sitesCache = new WeakMap<GraphQLSchema, WeakMap<OperationDefinitionNode, IdSite[]>>();

/** The arguments of an operation (and of the fragments it spreads) that hold an ID. */
function idSites(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): IdSite[] {
  let bySchema = sitesCache.get(schema);
  if (!bySchema) sitesCache.set(schema, (bySchema = new WeakMap()));
  const known = bySchema.get(operation);
  if (known) return known;
  const sites: IdSite[] = [];
  bySchema.set(operation, sites);
  for (const definition of [operation, ...fragmentsOf(document, operation)]) {
    const typeInfo = new TypeInfo(schema);
    visit(
      definition,
      visitWithTypeInfo(typeInfo, {
        Argument(argument) {
          const declared = typeInfo.getArgument();
          if (declared && holdsId(declared.type)) sites.push({ field: typeInfo.getFieldDef()?.name ?? '?', argument, type: declared.type });
        },
      }),
    );
  }
  return sites;
}

/**
 * The `ID` values of an operation that are not ids, with the variables coerced as execution will
 * coerce them: `[]` when every one is an id, or when the variables do not coerce at all (execution
 * refuses those itself, with `BAD_USER_INPUT`), or for a value of the wrong type (validation's).
 */
export function invalidIds(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>> = {},
): string[] {
  const sites = idSites(schema, document, operation);
  if (sites.length === 0) return [];
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: 1 });
  if (coerced.errors) return [];
  const problems: string[] = [];
  for (const site of sites) {
    const value = valueFromAST(site.argument.value, site.type, coerced.coerced);
    for (const id of idsIn(value, site.type, `${site.field}(${site.argument.name.value})`)) {
      if (typeof id.value !== 'string' || !isValidId(id.value)) problems.push(id.path);
    }
  }
  return problems;
}

/** The refusal: `BAD_USER_INPUT`, HTTP 400, naming where the bad ids are. */
export function invalidIdsError(paths: readonly string[]): GraphQLError {
  const shown = paths.slice(0, 5).join(', ') + (paths.length > 5 ? `, … (${paths.length} in all)` : '');
  return new GraphQLError(`Ids are 1 to 64 letters, digits, '_' or '-': ${shown} is not.`, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
}

/**
 * Refuses an operation any of whose `ID` arguments is not an id, before it executes (in a
 * subgraph) or is planned and sent on (at the gateway). An operation without variables is
 * checked once (Apollo reuses its parsed document); one with variables on every request, only
 * when it has an ID argument at all.
 */
export function inputGuardPlugin<C extends BaseContext>(): ApolloServerPlugin<C> {
  const constant = new WeakMap<OperationDefinitionNode, GraphQLError | null>();
  const listener: GraphQLRequestListener<C> = {
    async didResolveOperation({ document, operation, request, schema }) {
      if (!operation) return;
      const cacheable = !operation.variableDefinitions?.length;
      let error = cacheable ? constant.get(operation) : undefined;
      if (error === undefined) {
        const paths = invalidIds(schema, document, operation, request.variables ?? {});
        error = paths.length > 0 ? invalidIdsError(paths) : null;
        if (cacheable) constant.set(operation, error);
      }
      if (error) throw error;
    },
  };
  return {
    async requestDidStart() {
      return listener;
    },
  };
}
