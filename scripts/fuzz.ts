/**
 * `npm run fuzz -- [--runs 20000] [--seed 123]`: the gateway fuzzer
 * (tests/e2e/gateway-fuzz.e2e.spec.ts) alone, as long as asked; `npm test` runs it short.
 * `--authorization` runs the authorization fuzzer (tests/e2e/authorization-fuzz.e2e.spec.ts)
 * instead. A failure prints its seed: `--seed` with the same `--runs` replays that run.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '2000' }, seed: { type: 'string' }, authorization: { type: 'boolean', default: false } } });
const { authorization, ...numbers } = values;
for (const [name, value] of Object.entries(numbers)) {
  if (value !== undefined && !/^\d+$/.test(value)) {
    console.error(`--${name} must be a whole number; got ${value}`);
    process.exit(2);
  }
}
const setup = spawnSync(process.execPath, ['scripts/setup.mjs'], { stdio: 'inherit' });
if (setup.status !== 0) process.exit(setup.status ?? 1);
const [file, filter] = authorization ? ['tests/e2e/authorization-fuzz.e2e.spec.ts', 'the authorization fuzzer'] : ['tests/e2e/gateway-fuzz.e2e.spec.ts', 'the fuzzer'];
const run = spawnSync('npx', ['vitest', 'run', '--project', 'e2e', file, '-t', filter], {
  stdio: 'inherit',
  env: { ...process.env, FUZZ_RUNS: values.runs, ...(values.seed ? { FUZZ_SEED: values.seed } : {}) },
});
process.exit(run.status ?? 1);
