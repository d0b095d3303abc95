import type { ApolloServerPlugin, BaseContext, GraphQLRequestListener } from '@apollo/server';
import {
  getNamedType,
  getNullableType,
  getOperationAST,
  GraphQLError,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  valueFromASTUntyped,
  type ASTVisitor,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { TRIP_PAGE } from '@happyride/platform/list-sizes';
import { ENTITY_HOP_COST, listOnlyCostModel, type CostModel } from './cost-model.ts';

/** Limits in the spirit of graphql-armor's defaults; each one is configurable. */
export interface OperationLimits {
  /** Deepest field nesting (the root field is depth 1; introspection subtrees count as 1). */
  maxDepth: number;
  /** Aliased fields in one operation (every time a fragment is spread). */
  maxAliases: number;
  /** Lexical tokens in the document: enforced by the parser (`parseOptions.maxTokens`). */
  maxTokens: number;
  /**
   * Estimated cost: 1 per field; a list field's selection once per item it can return (its
   * `first`, else its cap); each entity hop `entityHopCost` per item; introspection roots
   * weigh more (INTROSPECTION_COST).
   */
  maxCost: number;
  /** What the cost prices: the gateway gives the supergraph's (`supergraphCostModel`); list sizes only without it. */
  costModel?: CostModel;
}

/**
 * maxCost: one unit is about what a plain field costs the system (a few µs of CPU), an entity
 * hop ENTITY_HOP_COST of them: 25,000 lets an operation take about four hops or 25,000 fields,
 * twice what the clients' operations cost (tests/ordinary-operations-cost.unit.spec.ts).
 */
export const defaultOperationLimits: OperationLimits = { maxDepth: 8, maxAliases: 15, maxTokens: 1000, maxCost: 25_000 };

/** The page sizes of a paged field the list sizes do not name (one taking `first`): the trips' pages. */
export const PAGE_SIZE = { min: TRIP_PAGE.min, max: TRIP_PAGE.max, default: TRIP_PAGE.default } as const;

/** A list field the list sizes do not name is priced as this many items (a test keeps every list field named). */
export const UNLISTED_LIST_SIZE = TRIP_PAGE.max;

/**
 * Selections the measurement may visit in one document. With each fragment measured once, a
 * document visits at most as many selections as it has, so only a document far over any sane
 * token limit reaches it; it bounds the work whatever GRAPHQL_MAX_TOKENS says.
 */
export const MAX_VISITS = 10_000;

/**
 * What an introspection root costs beyond its fields: `__schema` answers for the whole schema
 * (the standard introspection query costs about 5,200 in all, so four fit in the default limit
 * and a fifth is refused), `__type` for one type.
 */
export const INTROSPECTION_COST: Readonly<Record<string, number>> = { __schema: 5000, __type: 50 };

const limitError = (code: string, message: string) => new GraphQLError(message, { extensions: { code } });

/** What a selection asks for, as far as the limits care; depth is relative to the selection. */
export interface OperationMeasure {
  depth: number;
  aliases: number;
  cost: number;
}

/** A selection set's measure, with the subgraphs other than its parent's that its fields need (each one hop per parent item). */
interface SelectionMeasure extends OperationMeasure {
  foreign: ReadonlySet<string>;
}

export interface MeasureOptions {
  /** Tells each field's type, arguments and list-ness. */
  schema?: GraphQLSchema;
  /**
   * The request's variables; undefined while they are not known (validation): a `first` given
   * by a variable then counts as the smallest page, so the cost found is a lower bound.
   */
  variables?: Readonly<Record<string, unknown>>;
  maxVisits?: number;
  /** List sizes and entity hops; `listOnlyCostModel` when not given. */
  model?: CostModel;
}

class TooComplex extends Error {}

const NO_GRAPHS: ReadonlySet<string> = new Set();
const NOTHING: SelectionMeasure = { depth: 0, aliases: 0, cost: 0, foreign: NO_GRAPHS };

/**
 * Measures selections with each fragment measured once per subgraph it is spread in (memoised:
 * a fragment's depth, aliases and cost do not depend on where it is spread, only on the subgraph
 * resolving its parent, so a spread adds its stored measure), a fragment cycle measuring as
 * nothing (NoFragmentCyclesRule refuses it), and at most `maxVisits` selections visited over the
 * whole document, else `TooComplex`. Bad page sizes are collected in `pageErrors`.
 */
class Measurer {
  readonly pageErrors: GraphQLError[] = [];
  readonly #fragments = new Map<string, FragmentDefinitionNode>();
  readonly #measured = new Map<string, SelectionMeasure>();
  readonly #inProgress = new Set<string>();
  readonly #variableDefaults = new Map<string, unknown>();
  readonly #model: CostModel;
  #visits = 0;

  constructor(
    document: DocumentNode,
    private readonly options: MeasureOptions,
  ) {
    this.#model = options.model ?? listOnlyCostModel;
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) this.#fragments.set(definition.name.value, definition);
      if (definition.kind === Kind.OPERATION_DEFINITION) {
        for (const variable of definition.variableDefinitions ?? []) {
          if (variable.defaultValue) this.#variableDefaults.set(variable.variable.name.value, valueFromASTUntyped(variable.defaultValue));
        }
      }
    }
  }

  /** The root fields' own fetches are not hops: the gateway makes one per subgraph they are in. */
  operation(operation: OperationDefinitionNode): OperationMeasure {
    const root = this.options.schema?.getRootType(operation.operation) ?? undefined;
    const { depth, aliases, cost } = this.selectionSet(operation.selectionSet, root, undefined);
    return { depth, aliases, cost };
  }

  /** `graph`: the subgraph that resolves the parent (undefined at the root and where unknown). */
  selectionSet(selectionSet: SelectionSetNode, parent: GraphQLCompositeType | undefined, graph: string | undefined): SelectionMeasure {
    let depth = 0;
    let aliases = 0;
    let cost = 0;
    let foreign = NO_GRAPHS;
    for (const selection of selectionSet.selections) {
      if (++this.#visits > (this.options.maxVisits ?? MAX_VISITS)) throw new TooComplex();
      let measure: SelectionMeasure;
      if (selection.kind === Kind.FIELD) measure = this.field(selection, parent, graph);
      else if (selection.kind === Kind.INLINE_FRAGMENT) measure = this.selectionSet(selection.selectionSet, this.typeNamed(selection.typeCondition?.name.value) ?? parent, graph);
      else measure = this.fragment(selection.name.value, graph);
      depth = Math.max(depth, measure.depth);
      aliases += measure.aliases;
      cost += measure.cost;
      if (measure.foreign.size > 0) foreign = new Set([...foreign, ...measure.foreign]);
    }
    return { depth, aliases, cost, foreign };
  }

  fragment(name: string, graph: string | undefined): SelectionMeasure {
    const key = `${name}\u0000${graph ?? ''}`;
    const known = this.#measured.get(key);
    if (known) return known;
    const fragment = this.#fragments.get(name);
    if (!fragment || this.#inProgress.has(key)) return NOTHING;
    this.#inProgress.add(key);
    const measure = this.selectionSet(fragment.selectionSet, this.typeNamed(fragment.typeCondition.name.value), graph);
    this.#inProgress.delete(key);
    this.#measured.set(key, measure);
    return measure;
  }

  /**
   * 1, plus, for each item the field can return, its selection and one hop per other subgraph
   * that selection needs. Its `foreign` is its own subgraph when the parent's cannot resolve it.
   */
  field(field: FieldNode, parent: GraphQLCompositeType | undefined, graph: string | undefined): SelectionMeasure {
    const aliases = field.alias ? 1 : 0;
    const coordinate = parent ? `${parent.name}.${field.name.value}` : undefined;
    const graphs = coordinate ? this.#model.fieldGraphs.get(coordinate) : undefined;
    const resolvedIn = !graphs || (graph !== undefined && graphs.includes(graph)) ? graph : graphs[0];
    // Under the root (no subgraph yet: a root field, a subscription's payload) a field is the root fetch's, not a hop.
    const foreign = graph !== undefined && resolvedIn !== graph && resolvedIn !== undefined ? new Set([resolvedIn]) : NO_GRAPHS;
    const definition = parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[field.name.value] : undefined;
    const items = this.listSize(field, coordinate, definition);
    if (!field.selectionSet) return { depth: 1, aliases, cost: items, foreign };
    const type = definition ? getNamedType(definition.type) : undefined;
    const children = this.selectionSet(field.selectionSet, type && isCompositeType(type) ? type : undefined, resolvedIn);
    // Introspection: its depth is bounded by MaxIntrospectionDepthRule (in graphql's
    // specifiedRules), not by maxDepth; it costs its root's weight plus 1 per field.
    const introspection = INTROSPECTION_COST[field.name.value];
    if (introspection !== undefined) return { depth: 1, aliases: aliases + children.aliases, cost: 1 + introspection + children.cost, foreign: NO_GRAPHS };
    const perItem = children.cost + children.foreign.size * this.#model.entityHopCost;
    return { depth: 1 + children.depth, aliases: aliases + children.aliases, cost: 1 + items * perItem, foreign };
  }

  /**
   * The most items a field returns, as the list sizes say (a paged field: its `first`); a
   * paged field they do not name (one taking `first`) as PAGE_SIZE, another list as
   * UNLISTED_LIST_SIZE; 1 for any other field. A leaf list costs its items.
   */
  listSize(field: FieldNode, coordinate: string | undefined, definition: GraphQLField<unknown, unknown> | undefined): number {
    // Introspection's lists are priced by INTROSPECTION_COST, once.
    if (!coordinate || coordinate.startsWith('__')) return 1;
    const known = this.#model.listSizes[coordinate];
    if (known) {
      if (known.by === 'cap') return known.max;
      if (known.by === 'first') return this.firstOf(field, known);
      return 1; // 'parent' (its parent's page counts them) and 'scalars' (one field)
    }
    const argument = field.arguments?.find((a) => a.name.value === 'first');
    const declared = definition?.args.find((a) => a.name === 'first');
    // Without the schema (or for an unknown field, which validation refuses), `first` marks a paged field.
    if (declared !== undefined || (!definition && argument !== undefined)) {
      return this.firstOf(field, { ...PAGE_SIZE, default: typeof declared?.defaultValue === 'number' ? declared.defaultValue : PAGE_SIZE.default });
    }
    return definition && isListType(getNullableType(definition.type)) ? UNLISTED_LIST_SIZE : 1;
  }

  /** The page a paged field returns: its `first`, literal or by variable, else its default. */
  firstOf(field: FieldNode, page: { min: number; max: number; default: number }): number {
    const argument = field.arguments?.find((a) => a.name.value === 'first');
    if (!argument) return page.default;
    let value: unknown;
    if (argument.value.kind === Kind.VARIABLE) {
      const name = argument.value.name.value;
      if (!this.options.variables) return page.min; // not known yet: the least it can be
      value = name in this.options.variables ? this.options.variables[name] : this.#variableDefaults.get(name);
    } else {
      value = valueFromASTUntyped(argument.value);
    }
    // null or absent: the resolver's default; not a number: the variable coercion refuses it.
    if (typeof value !== 'number') return page.default;
    if (!Number.isInteger(value) || value < page.min || value > page.max) {
      this.pageErrors.push(limitError('BAD_USER_INPUT', `\`first\` of ${field.name.value} must be from ${page.min} to ${page.max}; got ${value}.`));
      return page.max;
    }
    return value;
  }

  typeNamed(name: string | undefined): GraphQLCompositeType | undefined {
    const type = name ? this.options.schema?.getType(name) : undefined;
    return type && isCompositeType(type) ? type : undefined;
  }
}

/**
 * Measures one operation of a document. Each fragment is measured once and the visits are
 * capped, so the work is bounded by the document's size, whatever it spreads.
 */
export function measureOperation(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  options: MeasureOptions = {},
): { measure: OperationMeasure; pageErrors: GraphQLError[] } | { tooComplex: true } {
  const measurer = new Measurer(document, options);
  try {
    return { measure: measurer.operation(operation), pageErrors: measurer.pageErrors };
  } catch (error) {
    if (error instanceof TooComplex) return { tooComplex: true };
    throw error;
  }
}

const describeCount = (count: number) => (Number.isSafeInteger(count) ? String(count) : `over ${Number.MAX_SAFE_INTEGER}`);

/**
 * Every limit an operation breaks, each a GraphQLError with its code: QUERY_TOO_COMPLEX (more
 * selections than the measurement visits), BAD_USER_INPUT (a page size out of range),
 * DEPTH_LIMIT_EXCEEDED, ALIAS_LIMIT_EXCEEDED, COST_LIMIT_EXCEEDED. Without variables (validation),
 * a page size given by a variable counts as 1; the request's variables give the real cost.
 * The HTTP path (validation rule, then `operationLimitsPlugin`) and the WebSocket path call this.
 */
export function checkOperationCost(
  document: DocumentNode,
  variables: Readonly<Record<string, unknown>> | undefined,
  limits: OperationLimits,
  { schema, operationName }: { schema?: GraphQLSchema; operationName?: string | null } = {},
): GraphQLError[] {
  const operation = getOperationAST(document, operationName);
  return operation ? checkOperations(document, [operation], variables, limits, schema) : [];
}

/** The operations share one measurement, so fragments are measured once for all of them. */
function checkOperations(
  document: DocumentNode,
  operations: readonly OperationDefinitionNode[],
  variables: Readonly<Record<string, unknown>> | undefined,
  limits: OperationLimits,
  schema: GraphQLSchema | undefined,
): GraphQLError[] {
  const measurer = new Measurer(document, { ...(schema ? { schema } : {}), ...(variables ? { variables } : {}), ...(limits.costModel ? { model: limits.costModel } : {}) });
  const errors: GraphQLError[] = [];
  for (const operation of operations) {
    const name = operation.name ? ` ${operation.name.value}` : '';
    let measure: OperationMeasure;
    try {
      measure = measurer.operation(operation);
    } catch (error) {
      if (!(error instanceof TooComplex)) throw error;
      return [limitError('QUERY_TOO_COMPLEX', `The document has more than ${MAX_VISITS} selections to measure (counting each fragment once); send a smaller one.`)];
    }
    if (measure.depth > limits.maxDepth) {
      errors.push(limitError('DEPTH_LIMIT_EXCEEDED', `Operation${name} is ${measure.depth} levels deep; the limit is ${limits.maxDepth}.`));
    }
    if (measure.aliases > limits.maxAliases) {
      errors.push(limitError('ALIAS_LIMIT_EXCEEDED', `Operation${name} uses ${describeCount(measure.aliases)} aliases; the limit is ${limits.maxAliases}.`));
    }
    if (measure.cost > limits.maxCost) {
      errors.push(
        limitError(
          'COST_LIMIT_EXCEEDED',
          `Operation${name} has an estimated cost of ${describeCount(measure.cost)}; the limit is ${limits.maxCost}. Ask for smaller pages (first), fewer fields, or fewer fields of other subgraphs under a list (each costs ${limits.costModel?.entityHopCost ?? ENTITY_HOP_COST} per item; passengerName and driverName need none).`,
        ),
      );
    }
  }
  return [...measurer.pageErrors, ...errors];
}

/**
 * A validation rule that refuses every operation of a document over the limits before any
 * variables are known (a variable page size counts as 1 here; `operationLimitsPlugin` checks
 * again with the request's variables).
 */
export function operationLimitsRule(limits: OperationLimits): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    Document(document) {
      const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
      for (const error of checkOperations(document, operations, undefined, limits, context.getSchema())) context.reportError(error);
    },
    // graphql reads `1e400` as Infinity, which the gateway cannot send on: a 500 (found by the fuzzer).
    FloatValue(node) {
      if (!Number.isFinite(Number(node.value))) context.reportError(limitError('BAD_USER_INPUT', `${node.value.slice(0, 40)} is not a finite number.`));
    },
  });
}

/**
 * Checks the operation about to run with the request's variables, before it reaches a
 * subgraph; a document without the operation asked for is refused here too (400).
 */
export function operationLimitsPlugin<C extends BaseContext>(limits: OperationLimits): ApolloServerPlugin<C> {
  // An operation without variables measures the same every time: its verdict is kept with the
  // parsed document (Apollo reuses one DocumentNode per query text), so it is measured once.
  const verdicts = new WeakMap<OperationDefinitionNode, GraphQLError | null>();
  // One listener shared by every request: nothing in it is per request.
  const listener: GraphQLRequestListener<C> = {
    async didResolveOperation({ document, operation, request, schema }) {
      // Left alone, the gateway's executor answers this with a 500 (found by the fuzzer).
      if (!operation) {
        const message = request.operationName
          ? `The document has no operation named "${request.operationName}".`
          : 'The document has several operations: say which one to run with operationName.';
        throw new GraphQLError(message, { extensions: { code: 'OPERATION_RESOLUTION_FAILURE', http: { status: 400 } } });
      }
      const constant = !operation.variableDefinitions?.length;
      let error = constant ? verdicts.get(operation) : undefined;
      if (error === undefined) {
        error = checkOperations(document, [operation], request.variables ?? {}, limits, schema)[0] ?? null;
        if (constant) verdicts.set(operation, error);
      }
      // A client's mistake: 400, as the same refusal in validation answers.
      if (error) throw new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 400 } } });
    },
  };
  return {
    async requestDidStart() {
      return listener;
    },
  };
}
