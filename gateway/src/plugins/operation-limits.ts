import type { ApolloServerPlugin, BaseContext, GraphQLRequestListener } from '@apollo/server';
import {
  getNamedType,
  getOperationAST,
  GraphQLError,
  isCompositeType,
  isInterfaceType,
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

/** Limits in the spirit of graphql-armor's defaults; each one is configurable. */
export interface OperationLimits {
  /** Deepest field nesting (the root field is depth 1; introspection subtrees count as 1). */
  maxDepth: number;
  /** Aliased fields in one operation (every time a fragment is spread). */
  maxAliases: number;
  /** Lexical tokens in the document: enforced by the parser (`parseOptions.maxTokens`). */
  maxTokens: number;
  /** Estimated cost: 1 per field, times the page size under a paged field; introspection roots weigh more (INTROSPECTION_COST). */
  maxCost: number;
}

export const defaultOperationLimits: OperationLimits = { maxDepth: 8, maxAliases: 15, maxTokens: 1000, maxCost: 5000 };

/** The page sizes the subgraphs accept (subgraphs/trip-queries/src/pagination.ts), and their default. */
export const PAGE_SIZE = { min: 1, max: 100, default: 20 } as const;

/**
 * Selections the measurement may visit in one document. With each fragment measured once, a
 * document visits at most as many selections as it has, so only a document far over any sane
 * token limit reaches it; it bounds the work whatever GRAPHQL_MAX_TOKENS says.
 */
export const MAX_VISITS = 10_000;

/**
 * What an introspection root costs beyond its fields: `__schema` answers for the whole schema
 * (the standard introspection query costs about 1,200 in all, so four fit in the default
 * limit and a fifth is refused), `__type` for one type.
 */
export const INTROSPECTION_COST: Readonly<Record<string, number>> = { __schema: 1000, __type: 10 };

const limitError = (code: string, message: string) => new GraphQLError(message, { extensions: { code } });

/** What a selection asks for, as far as the limits care; depth is relative to the selection. */
export interface OperationMeasure {
  depth: number;
  aliases: number;
  cost: number;
}

export interface MeasureOptions {
  /** Tells which fields are paged (they take `first`) and their default page size. */
  schema?: GraphQLSchema;
  /**
   * The request's variables; undefined while they are not known (validation): a `first` given
   * by a variable then counts as the smallest page, so the cost found is a lower bound.
   */
  variables?: Readonly<Record<string, unknown>>;
  maxVisits?: number;
}

class TooComplex extends Error {}

const NOTHING: OperationMeasure = { depth: 0, aliases: 0, cost: 0 };

/**
 * Measures selections with each fragment measured once (memoised by name: a fragment's depth,
 * aliases and cost do not depend on where it is spread, so a spread adds its stored measure),
 * a fragment cycle measuring as nothing (NoFragmentCyclesRule refuses it), and at most
 * `maxVisits` selections visited over the whole document, else `TooComplex`. Bad page sizes
 * are collected in `pageErrors`.
 */
class Measurer {
  readonly pageErrors: GraphQLError[] = [];
  readonly #fragments = new Map<string, FragmentDefinitionNode>();
  readonly #measured = new Map<string, OperationMeasure>();
  readonly #inProgress = new Set<string>();
  readonly #variableDefaults = new Map<string, unknown>();
  #visits = 0;

  constructor(
    document: DocumentNode,
    private readonly options: MeasureOptions,
  ) {
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) this.#fragments.set(definition.name.value, definition);
      if (definition.kind === Kind.OPERATION_DEFINITION) {
        for (const variable of definition.variableDefinitions ?? []) {
          if (variable.defaultValue) this.#variableDefaults.set(variable.variable.name.value, valueFromASTUntyped(variable.defaultValue));
        }
      }
    }
  }

  operation(operation: OperationDefinitionNode): OperationMeasure {
    const root = this.options.schema?.getRootType(operation.operation) ?? undefined;
    return this.selectionSet(operation.selectionSet, root);
  }

  selectionSet(selectionSet: SelectionSetNode, parent: GraphQLCompositeType | undefined): OperationMeasure {
    let depth = 0;
    let aliases = 0;
    let cost = 0;
    for (const selection of selectionSet.selections) {
      if (++this.#visits > (this.options.maxVisits ?? MAX_VISITS)) throw new TooComplex();
      let measure: OperationMeasure;
      if (selection.kind === Kind.FIELD) measure = this.field(selection, parent);
      else if (selection.kind === Kind.INLINE_FRAGMENT) measure = this.selectionSet(selection.selectionSet, this.typeNamed(selection.typeCondition?.name.value) ?? parent);
      else measure = this.fragment(selection.name.value);
      depth = Math.max(depth, measure.depth);
      aliases += measure.aliases;
      cost += measure.cost;
    }
    return { depth, aliases, cost };
  }

  fragment(name: string): OperationMeasure {
    const known = this.#measured.get(name);
    if (known) return known;
    const fragment = this.#fragments.get(name);
    if (!fragment || this.#inProgress.has(name)) return NOTHING;
    this.#inProgress.add(name);
    const measure = this.selectionSet(fragment.selectionSet, this.typeNamed(fragment.typeCondition.name.value));
    this.#inProgress.delete(name);
    this.#measured.set(name, measure);
    return measure;
  }

  field(field: FieldNode, parent: GraphQLCompositeType | undefined): OperationMeasure {
    const aliases = field.alias ? 1 : 0;
    if (!field.selectionSet) return { depth: 1, aliases, cost: 1 };
    const definition = parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[field.name.value] : undefined;
    const type = definition ? getNamedType(definition.type) : undefined;
    const children = this.selectionSet(field.selectionSet, type && isCompositeType(type) ? type : undefined);
    // Introspection: its depth is bounded by MaxIntrospectionDepthRule (in graphql's
    // specifiedRules), not by maxDepth; it costs its root's weight plus 1 per field.
    const introspection = INTROSPECTION_COST[field.name.value];
    if (introspection !== undefined) return { depth: 1, aliases: aliases + children.aliases, cost: 1 + introspection + children.cost };
    return { depth: 1 + children.depth, aliases: aliases + children.aliases, cost: 1 + this.pageSize(field, definition) * children.cost };
  }

  /** The page a paged field (one taking `first`) returns; 1 for any other field. */
  pageSize(field: FieldNode, definition: GraphQLField<unknown, unknown> | undefined): number {
    const argument = field.arguments?.find((a) => a.name.value === 'first');
    const declared = definition?.args.find((a) => a.name === 'first');
    // Without the schema (or for an unknown field, which validation refuses), `first` marks a paged field.
    const paged = declared !== undefined || (!definition && argument !== undefined);
    if (!paged) return 1;
    const fieldDefault = typeof declared?.defaultValue === 'number' ? declared.defaultValue : PAGE_SIZE.default;
    if (!argument) return fieldDefault;
    let value: unknown;
    if (argument.value.kind === Kind.VARIABLE) {
      const name = argument.value.name.value;
      if (!this.options.variables) return PAGE_SIZE.min; // not known yet: the least it can be
      value = name in this.options.variables ? this.options.variables[name] : this.#variableDefaults.get(name);
    } else {
      value = valueFromASTUntyped(argument.value);
    }
    // null or absent: the resolver's default; not a number: the variable coercion refuses it.
    if (typeof value !== 'number') return fieldDefault;
    if (!Number.isInteger(value) || value < PAGE_SIZE.min || value > PAGE_SIZE.max) {
      this.pageErrors.push(limitError('BAD_USER_INPUT', `\`first\` of ${field.name.value} must be from ${PAGE_SIZE.min} to ${PAGE_SIZE.max}; got ${value}.`));
      return PAGE_SIZE.max;
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
  const measurer = new Measurer(document, { ...(schema ? { schema } : {}), ...(variables ? { variables } : {}) });
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
          `Operation${name} has an estimated cost of ${describeCount(measure.cost)}; the limit is ${limits.maxCost}. Ask for smaller pages (first) or fewer fields.`,
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
