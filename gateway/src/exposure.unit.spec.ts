import { describe, expect, it } from 'vitest';
import { readExposure } from './exposure.ts';

describe('what the gateway shows about itself', () => {
  it('given production and nothing set, then introspection, GraphiQL and Sandbox are all off', () => {
    expect(readExposure({}, 'production')).toEqual({ introspection: false, graphiql: false, apolloSandbox: false });
  });

  it('given development or test, then all are on', () => {
    expect(readExposure({}, 'development')).toEqual({ introspection: true, graphiql: true, apolloSandbox: true });
    expect(readExposure({}, 'test')).toEqual({ introspection: true, graphiql: true, apolloSandbox: true });
  });

  it('given production with GRAPHIQL=on, then only GraphiQL is on', () => {
    expect(readExposure({ GRAPHIQL: 'on' }, 'production')).toEqual({ introspection: false, graphiql: true, apolloSandbox: false });
  });

  it('given GRAPHIQL=yes, then start-up stops naming it', () => {
    expect(() => readExposure({ GRAPHIQL: 'yes' }, 'development')).toThrow(/^GRAPHIQL must be one of on, off/);
  });
});
