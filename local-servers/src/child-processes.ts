/**
 * Running commands and supervising server processes: a server never outlives this Node
 * process (exit and signal hooks, and `setpriv --pdeathsig` where it exists), and the last
 * lines of its output are kept for error messages.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const STOP_GRACE_MS = 5_000;

/** Output kept per process for error messages. */
const TAIL_LINES = 40;

export class Tail {
  private readonly lines: string[] = [];
  private partial = '';

  push(chunk: Buffer | string): void {
    const parts = (this.partial + chunk.toString()).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.add(line);
  }

  text(): string {
    const all = this.partial === '' ? this.lines : [...this.lines, this.partial];
    return all.join('\n');
  }

  private add(line: string): void {
    this.lines.push(line.replace(/\r$/, ''));
    if (this.lines.length > TAIL_LINES) this.lines.shift();
  }
}

/** Runs a command to completion and resolves with its standard output; rejects with the tail of its output. */
export function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<string> {
  return new Promise((resolve, reject) => {
    const tail = new Tail();
    const stdout: Buffer[] = [];
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      tail.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => tail.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(stdout).toString());
      else {
        const status = signal === null ? `exit code ${code}` : `signal ${signal}`;
        reject(new Error(`\`${command} ${args.join(' ')}\` failed (${status}):\n${tail.text()}`));
      }
    });
  });
}

/** Children that must not outlive this Node process. */
const liveChildren = new Set<ChildProcess>();
/** Temp data dirs to remove when this process dies before stop(). */
export const ownedTempDirs = new Set<string>();
let hooksInstalled = false;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function onExit(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
  removeOwnedTempDirs();
}

function removeOwnedTempDirs(): void {
  for (const dir of ownedTempDirs) rmSync(dir, { recursive: true, force: true });
  ownedTempDirs.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  // Somebody else handles this signal (e.g. a CLI that calls stop()): they
  // decide; the 'exit' hook remains the backstop.
  if (process.listenerCount(signal) > 1) return;
  const children = [...liveChildren];
  for (const child of children) child.kill('SIGTERM');
  const exits = children.map(
    (child) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()))),
  );
  // Give the servers a moment to shut down cleanly, then die of the same
  // signal as we would have without this handler.
  void Promise.race([Promise.all(exits), sleep(STOP_GRACE_MS, undefined, { ref: false })]).then(() => {
    uninstallHooks();
    removeOwnedTempDirs();
    process.kill(process.pid, signal);
  });
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', onExit);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function uninstallHooks(): void {
  if (!hooksInstalled) return;
  hooksInstalled = false;
  process.off('exit', onExit);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

let setprivChecked: Promise<boolean> | undefined;

/**
 * Linux: `setpriv --pdeathsig TERM` execs the server (same pid) with
 * PR_SET_PDEATHSIG, so it shuts down even when this process is SIGKILLed and
 * no hook can run.
 */
function hasSetpriv(): Promise<boolean> {
  setprivChecked ??=
    process.platform === 'linux'
      ? run('setpriv', ['--pdeathsig', 'TERM', '--', 'true'], {}).then(
          () => true,
          () => false,
        )
      : Promise.resolve(false);
  return setprivChecked;
}

export interface Managed {
  name: string;
  child: ChildProcess;
  tail: Tail;
  /** Settles when the process has exited. */
  exited: Promise<void>;
  exitStatus(): string | undefined;
}

/**
 * `logFile`: every line the server prints is also written there (e.g. to look for permission
 * violations); the file starts empty unless `append` (a server started again).
 */
export async function spawnServer(name: string, command: string, args: string[], { logFile, append = false }: { logFile?: string; append?: boolean } = {}): Promise<Managed> {
  const wrapped = (await hasSetpriv())
    ? { file: 'setpriv', argv: ['--pdeathsig', 'TERM', '--', command, ...args] }
    : { file: command, argv: args };
  const tail = new Tail();
  const child = spawn(wrapped.file, wrapped.argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  liveChildren.add(child);
  installHooks();
  let status: string | undefined;
  const exited = new Promise<void>((resolve) => {
    const done = (text: string): void => {
      status ??= text;
      liveChildren.delete(child);
      if (liveChildren.size === 0) uninstallHooks();
      resolve();
    };
    child.on('error', (err) => done(`failed to spawn: ${err.message}`));
    child.on('exit', (code, signal) => done(signal === null ? `exited with code ${code}` : `killed by ${signal}`));
  });
  const log = logFile === undefined ? undefined : createWriteStream(logFile, { flags: append ? 'a' : 'w' });
  child.stdout?.on('data', (chunk: Buffer) => {
    tail.push(chunk);
    log?.write(chunk);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    tail.push(chunk);
    log?.write(chunk);
  });
  child.once('close', () => log?.end());
  return { name, child, tail, exited, exitStatus: () => status };
}

export async function stopServer(server: Managed): Promise<void> {
  if (server.exitStatus() !== undefined) return;
  server.child.kill('SIGTERM');
  const timedOut = await Promise.race([
    server.exited.then(() => false),
    sleep(STOP_GRACE_MS, undefined, { ref: false }).then(() => true),
  ]);
  if (timedOut) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
}
