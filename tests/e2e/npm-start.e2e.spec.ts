import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { allServices, freePort } from '../../scripts/system.ts';
import { until } from '../support/eventually.ts';
import { natsUrl } from '../support/own-event-log.ts';

/** Every process below `root` now (children, grandchildren, ...), read from /proc. */
function descendantsOf(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name may hold spaces and parentheses: the fields after the last ')' are fixed.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited while listed
    }
  }
  const found: number[] = [];
  for (let frontier = [root]; frontier.length > 0; ) {
    const children = [...parentOf].filter(([, parent]) => frontier.includes(parent)).map(([pid]) => pid);
    found.push(...children);
    frontier = children;
  }
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let npm: ChildProcess | undefined;
/** What npm start had started, kept: an orphan is no longer below npm. */
let started: number[] = [];
afterAll(() => {
  const pids = npm?.pid === undefined ? started : [...started, ...descendantsOf(npm.pid), npm.pid];
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

describe('npm start, as a person runs it', () => {
  it('given the whole system started by `npm start`, when npm gets SIGTERM, then every process it started has exited within 10 s', async () => {
    // Given: the README's command, on free ports, against this file's NATS and the run's FerretDB.
    const ports: Record<string, string> = {};
    for (const service of allServices) {
      if (service.portEnv) ports[service.portEnv] = String(await freePort());
      if (service.metricsPortEnv) ports[service.metricsPortEnv] = String(await freePort());
    }
    const env = { ...process.env, ...ports, NATS_URL: natsUrl(), MONGODB_URL: inject('mongoUrl'), MONGODB_DATABASE: `e2e_${randomUUID().slice(0, 8)}`, NODE_ENV: 'test' };
    let output = '';
    npm = spawn('npm', ['start'], { cwd: new URL('../../', import.meta.url), env, stdio: ['ignore', 'pipe', 'pipe'] });
    npm.stdout?.on('data', (chunk: Buffer) => void (output += chunk.toString('utf8')));
    npm.stderr?.on('data', (chunk: Buffer) => void (output += chunk.toString('utf8')));
    const npmExited = new Promise<void>((resolve) => npm?.once('exit', () => resolve()));
    await until(() => output.includes('Happyride Graph is up.') || npm?.exitCode !== null, { timeoutMs: 400_000, what: 'npm start saying the system is up' });
    expect(npm.exitCode, output.slice(-2000)).toBeNull();
    started = descendantsOf(npm.pid!);
    expect(started.length).toBeGreaterThanOrEqual(allServices.length);

    // When
    npm.kill('SIGTERM');

    // Then: nothing it started is left behind (an orphan keeps ports and data), and npm itself ends.
    await until(() => started.every((pid) => !alive(pid)), { timeoutMs: 10_000, what: `every process of npm start gone (left: ${started.filter(alive).join(', ')})` });
    await npmExited;
    expect(output).toContain('stopping…');
  }, 600_000);
});
