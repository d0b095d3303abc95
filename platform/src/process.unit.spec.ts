import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { superviseLoops } from './process.ts';

/** A logger whose lines are kept, and a supervisor whose exit is recorded instead of taken. */
function supervised() {
  const lines: Array<{ level: number; msg: string; loop?: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });
  const stop = new AbortController();
  let exitCode: number | undefined;
  let exited!: () => void;
  const exitedOnce = new Promise<void>((resolve) => (exited = resolve));
  const loops = superviseLoops({
    logger,
    stopping: stop.signal,
    exitAfterMs: 0,
    exit: (code) => {
      exitCode = code;
      exited();
    },
  });
  return { loops, lines, stop, exitedOnce, exitCode: () => exitCode };
}

const settled = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('superviseLoops: a worker loop that stops is loud', () => {
  it('given a running loop, when it fails, then the process is unready with the reason, logs it at fatal and exits 1', async () => {
    const { loops, lines, exitedOnce, exitCode } = supervised();
    let fail!: (error: Error) => void;
    loops.watch('the saga consumer loop', new Promise((_, reject) => (fail = reject)));
    expect(loops.failure()).toBeNull();

    fail(new Error('consumer deleted'));
    await exitedOnce;

    expect(loops.failure()).toBe('the saga consumer loop stopped: consumer deleted');
    expect(exitCode()).toBe(1);
    expect(lines).toContainEqual(expect.objectContaining({ level: 60, loop: 'the saga consumer loop', msg: expect.stringContaining('exiting with code 1') }));
  });

  it('given a running loop, when it ends without an error while nobody asked it to, then that is a failure too', async () => {
    const { loops, exitedOnce, exitCode } = supervised();
    loops.watch('the driver feed', Promise.resolve());
    await exitedOnce;
    expect(loops.failure()).toBe('the driver feed stopped');
    expect(exitCode()).toBe(1);
  });

  it('given the process is stopping, when its loops end (even with an error), then it stays quiet and does not exit', async () => {
    const { loops, stop, lines, exitCode } = supervised();
    stop.abort();
    loops.watch('the saga consumer loop', Promise.resolve());
    loops.watch('dispatch', Promise.reject(new Error('connection draining')));
    await settled();
    expect(loops.failure()).toBeNull();
    expect(exitCode()).toBeUndefined();
    expect(lines).toEqual([]);
  });
});
