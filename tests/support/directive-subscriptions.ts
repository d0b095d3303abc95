import fc from 'fast-check';

export interface DirectiveSubscription {
  query: string;
  /** Its variables besides `$t` (the trip id, which the caller adds). */
  variables: Record<string, unknown>;
  /** Where its payload lands in `data`. */
  responseKey: string;
  /** Whether a served payload selects the trip's id (false when every field under the root is skipped). */
  selectsId: boolean;
}

const condition = fc.record({
  name: fc.constantFrom('include', 'skip'),
  value: fc.boolean(),
  viaVariable: fc.boolean(),
});

/**
 * `tripUpdates(tripId: $t)` subscriptions carrying `@include`/`@skip` (a literal or a `$c`
 * condition): on the root field, on an inline fragment or a fragment spread wrapping it, on the
 * root inside a named fragment, twice on the root, or under it (one field, or all of them);
 * with or without an alias.
 */
export const PLACEMENTS = ['root', 'root-twice', 'inline-fragment', 'typed-inline-fragment', 'fragment-spread', 'in-named-fragment', 'one-field-under-root', 'all-fields-under-root'] as const;

export function directiveSubscription(placements: ReadonlyArray<(typeof PLACEMENTS)[number]> = PLACEMENTS): fc.Arbitrary<DirectiveSubscription> {
  return fc
    .record({
      alias: fc.constantFrom(undefined, 'u', 'theTrip'),
      placement: fc.constantFrom(...placements),
      first: condition,
      second: condition,
    })
    .map(({ alias, placement, first, second }) => {
      const variables: Record<string, unknown> = {};
      const definitions = ['$t: ID!'];
      const directive = (c: typeof first, variable: string) => {
        if (!c.viaVariable) return `@${c.name}(if: ${c.value})`;
        variables[variable] = c.value;
        definitions.push(`$${variable}: Boolean!`);
        return `@${c.name}(if: $${variable})`;
      };
      const d1 = directive(first, 'c');
      const root = (directives: string, selection = '{ id state }') => `${alias ? `${alias}: ` : ''}tripUpdates(tripId: $t) ${directives} ${selection}`;
      let body: string;
      let fragments = '';
      let selectsId = true;
      switch (placement) {
        case 'root':
          body = root(d1);
          break;
        case 'root-twice':
          // the other one of @include/@skip (the same twice is a validation error)
          body = root(`${d1} ${directive({ ...second, name: first.name === 'include' ? 'skip' : 'include' }, 'd')}`);
          break;
        case 'inline-fragment':
          body = `... ${d1} { ${root('')} }`;
          break;
        case 'typed-inline-fragment':
          body = `... on Subscription ${d1} { ${root('')} }`;
          break;
        case 'fragment-spread':
          body = `...Follow ${d1}`;
          fragments = ` fragment Follow on Subscription { ${root('')} }`;
          break;
        case 'in-named-fragment':
          body = '...Follow';
          fragments = ` fragment Follow on Subscription { ${root(d1)} }`;
          break;
        case 'one-field-under-root':
          body = root('', `{ id state ${d1} }`);
          break;
        case 'all-fields-under-root':
          body = root('', `{ ... ${d1} { id } }`);
          selectsId = false;
          break;
        default:
          throw new Error(`unknown placement ${JSON.stringify(placement satisfies never)}`);
      }
      return { query: `subscription (${definitions.join(', ')}) { ${body} }${fragments}`, variables, responseKey: alias ?? 'tripUpdates', selectsId };
    });
}
