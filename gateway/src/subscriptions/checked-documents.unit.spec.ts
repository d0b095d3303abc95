import { buildSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { CheckedDocuments } from './checked-documents.ts';

describe('CheckedDocuments', () => {
  const schema = buildSchema('type Query { a: Int }');

  it('given the same text again, then it is checked once and the same entry shared', () => {
    const documents = new CheckedDocuments<{ text: string }>();
    let checks = 0;
    const check = (text: string) => () => (checks++, { text });
    const first = documents.get(schema, 'q', check('q'));
    expect(documents.get(schema, 'q', check('q'))).toBe(first);
    expect(checks).toBe(1);
  });

  it('given a new schema (a supergraph update), then every text is checked again', () => {
    const documents = new CheckedDocuments<number>();
    documents.get(schema, 'q', () => 1);
    expect(documents.get(buildSchema('type Query { a: Int }'), 'q', () => 2)).toBe(2);
  });

  it('given more texts than it keeps, then the oldest goes first', () => {
    const documents = new CheckedDocuments<number>(2);
    documents.get(schema, 'a', () => 1);
    documents.get(schema, 'b', () => 2);
    documents.get(schema, 'c', () => 3);
    expect(documents.size).toBe(2);
    expect(documents.get(schema, 'a', () => 4)).toBe(4);
    expect(documents.get(schema, 'c', () => 5)).toBe(3);
  });
});
