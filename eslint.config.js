// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// What domain/ may not import: databases, brokers, Node's I/O, GraphQL, HTTP, logging, tokens, and
// the project's own infrastructure packages.
const infrastructure = ['mongodb', 'mongodb/*', 'nats', '@nats-io/*', 'node:*', 'fs', 'child_process', 'net', 'http', '@apollo/*', 'graphql', 'graphql/*', 'express', 'pino', 'jose', '@happyride/*', '!@happyride/domain'];

export default tseslint.config(
  // Generated resolver types (`npm run schema:codegen`) are checked by tsc and by their staleness test, not linted.
  { ignores: ['node_modules/', '.cache/', '.data/', 'dist/', 'bench/results/', '**/*.d.ts', 'subgraphs/*/src/generated/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', fetch: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', TextEncoder: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    // The domain is pure: no database, no broker, no Node I/O, no GraphQL.
    files: ['domain/src/**/*.ts'],
    ignores: ['domain/src/**/*.spec.ts', 'domain/src/testing/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: infrastructure, message: 'domain/ is pure: I/O lives at the edges.' }] }],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Ids and randomness come in through commands.' },
        { object: 'Date', property: 'now', message: 'Time comes in through command metadata.' },
      ],
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Time comes in through command metadata.' }],
    },
  },
  {
    // Only the event store wraps the NATS client.
    // (domain/ has its own, stricter list above: a second no-restricted-imports here would replace it.)
    files: ['**/*.ts'],
    ignores: ['eventstore/src/**', 'local-servers/src/**', 'domain/src/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['nats', '@nats-io/*'], message: 'Use @happyride/eventstore: one NATS client, wrapped in one place.' }] }],
    },
  },
);
