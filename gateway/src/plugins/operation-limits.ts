import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

/** Limits in the spirit of graphql-armor's defaults; each one is configurable. */
export interface OperationLimits {
  /** Deepest field nesting (the root field is depth 1). */
  maxDepth: number;
  /** Aliased fields in one operation. */
  maxAliases: number;
  /** Lexical tokens in the document: enforced by the parser (`parseOptions.maxTokens`). */
  maxTokens: number;
  /** Estimated cost: 1 per field, times `first` (default 20) for what is under a paged field. */
  maxCost: number;
}

export const defaultOperationLimits: OperationLimits = { maxDepth: 8, maxAliases: 15, maxTokens: 1000, maxCost: 5000 };

const DEFAULT_PAGE = 20;
const INTROSPECTION_FIELDS = new Set(['__schema', '__type']);

const limitError = (code: string, message: string) => new GraphQLError(message, { extensions: { code } });

/** What one operation asks for, as far as the limits care. */
export interface OperationMeasure {
  depth: number;
  aliases: number;
  cost: number;
}

/**
 * Measures a selection set, following fragment spreads (each fragment once per path, so a
 * cycle cannot loop). Introspection is not counted: Sandbox and GraphiQL send deep
 * introspection queries, which introspection settings govern instead.
 */
export function measureSelection(
  selectionSet: SelectionSetNode,
  fragments: Record<string, FragmentDefinitionNode | undefined>,
  depth = 1,
  seen: ReadonlySet<string> = new Set(),
): OperationMeasure {
  let result: OperationMeasure = { depth: 0, aliases: 0, cost: 0 };
  const merge = (other: OperationMeasure) => {
    result = { depth: Math.max(result.depth, other.depth), aliases: result.aliases + other.aliases, cost: result.cost + other.cost };
  };
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (INTROSPECTION_FIELDS.has(selection.name.value)) continue;
      merge(measureField(selection, fragments, depth, seen));
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      merge(measureSelection(selection.selectionSet, fragments, depth, seen));
    } else {
      const name = selection.name.value;
      const fragment = fragments[name];
      if (fragment && !seen.has(name)) merge(measureSelection(fragment.selectionSet, fragments, depth, new Set([...seen, name])));
    }
  }
  return result;
}

function measureField(
  field: FieldNode,
  fragments: Record<string, FragmentDefinitionNode | undefined>,
  depth: number,
  seen: ReadonlySet<string>,
): OperationMeasure {
  const own = { depth, aliases: field.alias ? 1 : 0, cost: 1 };
  if (!field.selectionSet) return own;
  const children = measureSelection(field.selectionSet, fragments, depth + 1, seen);
  const firstArg = field.arguments?.find((argument) => argument.name.value === 'first');
  const multiplier = firstArg?.value.kind === Kind.INT ? Number(firstArg.value.value) : firstArg ? DEFAULT_PAGE : 1;
  return {
    depth: Math.max(own.depth, children.depth),
    aliases: own.aliases + children.aliases,
    cost: own.cost + multiplier * children.cost,
  };
}

/** A validation rule that refuses operations over the depth, alias or cost limits, with a code each. */
export function operationLimitsRule(limits: OperationLimits): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = Object.fromEntries(
      context.getDocument().definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
    );
    return {
      OperationDefinition(operation) {
        const name = operation.name ? ` ${operation.name.value}` : '';
        const measure = measureSelection(operation.selectionSet, fragments);
        if (measure.depth > limits.maxDepth) {
          context.reportError(limitError('DEPTH_LIMIT_EXCEEDED', `Operation${name} is ${measure.depth} levels deep; the limit is ${limits.maxDepth}.`));
        }
        if (measure.aliases > limits.maxAliases) {
          context.reportError(limitError('ALIAS_LIMIT_EXCEEDED', `Operation${name} uses ${measure.aliases} aliases; the limit is ${limits.maxAliases}.`));
        }
        if (measure.cost > limits.maxCost) {
          context.reportError(
            limitError('COST_LIMIT_EXCEEDED', `Operation${name} has an estimated cost of ${measure.cost}; the limit is ${limits.maxCost}. Ask for smaller pages (first) or fewer fields.`),
          );
        }
      },
    };
  };
}
