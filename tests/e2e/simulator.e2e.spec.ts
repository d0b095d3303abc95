import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSystem } from '../support/system.ts';

let system: Awaited<ReturnType<typeof startTestSystem>>;

beforeAll(async () => {
  // Quick dispatch checks, so a simulated minute fits in a test; simulated time runs 300 times
  // faster (below), so drivers appear to move at 12,000 km/h: the system is told that is plausible.
  system = await startTestSystem({ DISPATCH_CHECK_INTERVAL_MS: '500', DISPATCH_MAX_CHECKS: '3', DRIVER_MAX_SPEED_KMH: '30000' });
});
afterAll(async () => {
  await system?.stop();
});

/** Runs `npm run simulate` as a real process against the gateway; resolves with its output and exit code. */
function simulate(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'simulator/src/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('the driver simulator, through the public API only', () => {
  it('given a running system, when a small city is simulated, then offers flow to drivers and trips finish', async () => {
    // A spot of its own, away from the other tests' drivers.
    const center = `${(-60 + Math.random() * 20).toFixed(4)},${(-30 + Math.random() * 20).toFixed(4)}`;
    const { code, output } = await simulate([
      '--gateway', system.gatewayUrl,
      '--drivers', '5',
      '--passengers', '3',
      `--center=${center}`, // = because the longitude may start with a minus
      '--area-km', '1',
      '--accept-rate', '1',
      '--request-every-ms', '300',
      '--location-every-ms', '300',
      '--time-scale', '300',
      '--max-speed-kmh', '30000',
      '--duration', '25',
    ]);

    expect(code, output).toBe(0);
    const done = /done: (\d+) trips finished, (\d+) offers accepted, (\d+) offers received/.exec(output);
    expect(done, output).not.toBeNull();
    const [, finished, accepted, received] = done!.map(Number);
    expect(received, output).toBeGreaterThan(0);
    expect(accepted, output).toBeGreaterThan(0);
    expect(finished, output).toBeGreaterThan(0);
    expect(output).toMatch(/\d+s · \d+\/5 drivers online · trips: .* · offers [\d.]+\/s · accepted \d+ · errors \d+/);
  }, 120_000);

  it('given a bad option, then it names it and exits with 2', async () => {
    const { code, output } = await simulate(['--accept-rate', '3']);
    expect(code).toBe(2);
    expect(output).toContain('--accept-rate must be a number between 0 and 1, got "3"');
  });
});
