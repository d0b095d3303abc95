import type { GraphQLSchema } from 'graphql';

/**
 * Subscription documents parsed, validated and rewritten once per text for every subscriber
 * that sends it (10,000 driver apps send the same `dispatchOffers` document): one AST and its
 * derived queries shared by all, instead of a copy per socket. Forgotten when the schema
 * changes (a supergraph update); at most `max` texts, the oldest dropped first.
 */
export class CheckedDocuments<T> {
  readonly #documents = new Map<string, T>();
  #schema: GraphQLSchema | undefined;

  constructor(readonly max = 200) {}

  /** The entry for `text` under `schema`, built (and kept) by `check` unless known; a throw is not kept. */
  get(schema: GraphQLSchema, text: string, check: () => T): T {
    if (schema !== this.#schema) {
      this.#documents.clear();
      this.#schema = schema;
    }
    const known = this.#documents.get(text);
    if (known !== undefined) return known;
    const checked = check();
    this.#documents.set(text, checked);
    if (this.#documents.size > this.max) this.#documents.delete(this.#documents.keys().next().value!);
    return checked;
  }

  get size(): number {
    return this.#documents.size;
  }
}
