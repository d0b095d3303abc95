import { listSizes, type ListSize } from '@happyride/platform/list-sizes';
import { Kind, parse, type ConstDirectiveNode, type FieldDefinitionNode } from 'graphql';

/**
 * What the gateway's cost estimate prices (operation-limits.ts), besides 1 per field:
 * - `listSizes`: the most items each list field returns (platform/src/list-sizes.ts);
 * - `fieldGraphs`: the subgraphs that can resolve each field, from the supergraph's join
 *   directives. A field whose parent's subgraph cannot resolve it is fetched from another one:
 *   an entity hop, one `_entities` representation per parent item;
 * - `entityHopCost`: what one such representation costs the subgraphs, in plain fields.
 */
export interface CostModel {
  listSizes: Readonly<Record<string, ListSize>>;
  /** By coordinate (`Type.field`); a field not here is resolved wherever its parent is. */
  fieldGraphs: ReadonlyMap<string, readonly string[]>;
  entityHopCost: number;
}

/**
 * One entity representation resolved by another subgraph, in plain fields: measured by
 * `npm run bench:hops` (bench/entity-hops.bench.ts; the README's cost table has the figures).
 */
export const ENTITY_HOP_COST = 5000;

/** The model without a supergraph: list sizes only, no hop is known. */
export const listOnlyCostModel: CostModel = { listSizes, fieldGraphs: new Map(), entityHopCost: ENTITY_HOP_COST };

const argument = (directive: ConstDirectiveNode, name: string) => directive.arguments?.find((a) => a.name.value === name)?.value;
const enumArgument = (directive: ConstDirectiveNode, name: string) => {
  const value = argument(directive, name);
  return value?.kind === Kind.ENUM ? value.value : undefined;
};
const isTrue = (directive: ConstDirectiveNode, name: string) => {
  const value = argument(directive, name);
  return value?.kind === Kind.BOOLEAN && value.value;
};

/**
 * The subgraphs of every field of a supergraph SDL: those its `@join__field(graph:)` name (an
 * `external` one excepted), else every subgraph its type is joined to (`@join__type(graph:)`;
 * a type's key fields are there even where the type is not resolvable).
 */
export function fieldGraphsOf(supergraphSdl: string): Map<string, readonly string[]> {
  const typeGraphs = new Map<string, string[]>();
  const fields = new Map<string, FieldDefinitionNode[]>();
  for (const definition of parse(supergraphSdl).definitions) {
    if (
      definition.kind !== Kind.OBJECT_TYPE_DEFINITION &&
      definition.kind !== Kind.OBJECT_TYPE_EXTENSION &&
      definition.kind !== Kind.INTERFACE_TYPE_DEFINITION &&
      definition.kind !== Kind.INTERFACE_TYPE_EXTENSION
    ) continue;
    const name = definition.name.value;
    const graphs = typeGraphs.get(name) ?? [];
    for (const directive of definition.directives ?? []) {
      const graph = directive.name.value === 'join__type' ? enumArgument(directive, 'graph') : undefined;
      if (graph && !graphs.includes(graph)) graphs.push(graph);
    }
    typeGraphs.set(name, graphs);
    fields.set(name, [...(fields.get(name) ?? []), ...(definition.fields ?? [])]);
  }
  const result = new Map<string, readonly string[]>();
  for (const [type, definitions] of fields) {
    for (const field of definitions) {
      const joins = (field.directives ?? []).filter((d) => d.name.value === 'join__field');
      const named = joins.filter((d) => !isTrue(d, 'external')).map((d) => enumArgument(d, 'graph')).filter((g): g is string => g !== undefined);
      const graphs = joins.some((d) => enumArgument(d, 'graph') !== undefined) ? named : (typeGraphs.get(type) ?? []);
      if (graphs.length > 0) result.set(`${type}.${field.name.value}`, graphs);
    }
  }
  return result;
}

/** The cost model of a supergraph: its fields' subgraphs, the graph's list sizes, the measured hop weight. */
export function supergraphCostModel(supergraphSdl: string, sizes: Readonly<Record<string, ListSize>> = listSizes): CostModel {
  return { listSizes: sizes, fieldGraphs: fieldGraphsOf(supergraphSdl), entityHopCost: ENTITY_HOP_COST };
}
