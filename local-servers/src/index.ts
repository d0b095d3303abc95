/**
 * Builds (through the Go module proxy), caches and starts real servers on
 * loopback for local development and tests:
 *
 * - nats-server (JetStream enabled), `go install`ed at a pinned version;
 * - FerretDB (MongoDB wire protocol, SQLite backend), embedded in the tiny Go
 *   program in `local-servers/ferretdb/`.
 *
 * Binaries are cached in `<repo>/.cache/bin/` under versioned names, so a
 * rebuild happens only when a pin changes. Builds are serialized between
 * processes with a lock file and land through an atomic rename.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants, rmSync, writeFileSync } from 'node:fs';
import { access, chmod, cp, mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { applySourcePatch, FERRETDB_ADDITIONS, FERRETDB_PATCHES, patchesFingerprint } from './ferretdb-patches.ts';

export interface LocalServers {
  /** e.g. `nats://127.0.0.1:4222` */
  natsUrl: string;
  /** e.g. `mongodb://127.0.0.1:27017/` */
  mongoUrl: string;
  /** Stops the servers this call started (never external ones); idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Data directory (`<dataDir>/nats`, `<dataDir>/ferretdb`); default: a fresh temp dir, removed on stop. */
  dataDir?: string;
  /** Progress lines (builds, readiness); default: written to stderr. */
  log?: (line: string) => void;
  /**
   * Where `NATS_URL` / `MONGODB_URL` are looked up; when one is set, that
   * server is used as is and not started. Default: `process.env`. Pass `{}` to
   * always start both.
   */
  env?: Record<string, string | undefined>;
  /** How long each server may take to answer after spawn; default 30 s. */
  readyTimeoutMs?: number;
  /**
   * JetStream's `sync_interval`: `always` (the default) fsyncs every stored message before the
   * publish is acknowledged, so an acknowledged event survives an OS crash; a duration such as
   * `2m` (nats-server's own default) batches fsyncs and may lose the last acknowledged writes.
   */
  natsSyncInterval?: string;
}

export const NATS_SERVER_VERSION = 'v2.11.17';
export const FERRETDB_VERSION = 'v1.24.2';

const NATS_MODULE = 'github.com/nats-io/nats-server/v2';
const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FERRETDB_SRC = fileURLToPath(new URL('../ferretdb/', import.meta.url));
/** Where built binaries are cached; `LOCAL_SERVERS_BIN_DIR` overrides (e.g. a CI cache). */
const CACHE_DIR = nonEmpty(process.env['LOCAL_SERVERS_BIN_DIR']) ?? join(REPO_ROOT, '.cache', 'bin');
/** A lock older than this is considered abandoned even if its pid looks alive. */
const STALE_LOCK_MS = 30 * 60_000;
const STOP_GRACE_MS = 5_000;

const defaultLog = (line: string): void => {
  process.stderr.write(`[local-servers] ${line}\n`);
};

// ---------------------------------------------------------------------------
// Binaries
// ---------------------------------------------------------------------------

/** Builds both binaries if they are not cached yet and returns their paths. */
export async function ensureServerBinaries(
  log: (line: string) => void = defaultLog,
): Promise<{ natsServer: string; ferretdb: string }> {
  // Sequential on purpose: each `go` build already uses every core.
  const ferretdb = await ensureFerretdb(log);
  const natsServer = await ensureNatsServer(log);
  return { natsServer, ferretdb };
}

export async function ensureNatsServer(log: (line: string) => void = defaultLog): Promise<string> {
  const target = join(CACHE_DIR, `nats-server-${NATS_SERVER_VERSION}`);
  return buildOnce(target, `nats-server ${NATS_SERVER_VERSION}`, log, async (tmp) => {
    const go = await findGo();
    if (go === undefined) return aptNatsServer(log, new Error('no `go` found on PATH or in /usr/local/go/bin'));
    log(`building nats-server ${NATS_SERVER_VERSION} (first run only, ~1 min)…`);
    const gobin = `${tmp}.d`;
    try {
      await run(go, ['install', '-trimpath', `${NATS_MODULE}@${NATS_SERVER_VERSION}`], {
        cwd: CACHE_DIR,
        env: goEnv({ GOBIN: gobin }),
      });
      await rename(join(gobin, 'nats-server'), tmp);
      return undefined;
    } catch (err) {
      return aptNatsServer(log, err);
    } finally {
      await rm(gobin, { recursive: true, force: true });
    }
  });
}

export async function ensureFerretdb(log: (line: string) => void = defaultLog): Promise<string> {
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'go.sum', 'main.go']) {
    hash.update(file).update('\0').update(await readFile(join(FERRETDB_SRC, file))).update('\0');
  }
  hash.update('patches').update('\0').update(patchesFingerprint());
  const target = join(CACHE_DIR, `ferretdb-${FERRETDB_VERSION}-${hash.digest('hex').slice(0, 12)}`);
  return buildOnce(target, `ferretdb ${FERRETDB_VERSION}`, log, async (tmp) => {
    const go = await findGo();
    if (go === undefined) {
      throw new Error('Go (>= 1.24) is needed to build FerretDB: no `go` found on PATH or in /usr/local/go/bin');
    }
    log(`building ferretdb ${FERRETDB_VERSION} with our source patches (local-servers/src/ferretdb-patches.ts; first run only, ~2 min)…`);
    const work = `${tmp}.src`;
    try {
      const modfile = await patchedFerretdbModule(go, work);
      await run(go, ['build', `-modfile=${modfile}`, '-trimpath', '-buildvcs=false', '-o', tmp, '.'], {
        cwd: FERRETDB_SRC,
        env: goEnv({}),
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    return undefined;
  });
}

/**
 * Copies FerretDB's module (downloaded through the Go module proxy) into `work`, applies
 * FERRETDB_PATCHES (see ferretdb-patches.ts for each one's reason) and writes a go.mod that
 * replaces the module by the patched copy. Returns that go.mod's path (for `go build -modfile`);
 * the committed go.mod and go.sum stay untouched.
 */
async function patchedFerretdbModule(go: string, work: string): Promise<string> {
  const env = goEnv({});
  const download = JSON.parse(
    await run(go, ['mod', 'download', '-json', `${FERRETDB_MODULE}@${FERRETDB_VERSION}`], { cwd: FERRETDB_SRC, env }),
  ) as { Dir?: string; Error?: string };
  if (download.Dir === undefined) throw new Error(`go mod download ${FERRETDB_MODULE}@${FERRETDB_VERSION}: ${download.Error ?? 'no Dir'}`);
  const module = join(work, 'FerretDB');
  await mkdir(work, { recursive: true });
  // The module cache is read-only: copy, then make the copy writable (and removable).
  await cp(download.Dir, module, { recursive: true });
  await makeWritable(module);
  for (const patch of FERRETDB_PATCHES) {
    const file = join(module, patch.file);
    await writeFile(file, applySourcePatch(await readFile(file, 'utf8'), patch));
  }
  for (const addition of FERRETDB_ADDITIONS) await writeFile(join(module, addition.file), addition.content, { flag: 'wx' });
  const modfile = join(work, 'build.mod');
  await writeFile(modfile, await readFile(join(FERRETDB_SRC, 'go.mod')));
  // `-modfile=build.mod` reads its checksums from build.sum.
  await writeFile(join(work, 'build.sum'), await readFile(join(FERRETDB_SRC, 'go.sum')));
  await run(go, ['mod', 'edit', `-modfile=${modfile}`, `-replace=${FERRETDB_MODULE}=${module}`], { cwd: FERRETDB_SRC, env });
  return modfile;
}

async function makeWritable(path: string): Promise<void> {
  const info = await stat(path);
  await chmod(path, info.mode | 0o200);
  if (info.isDirectory()) {
    for (const entry of await readdir(path)) await makeWritable(join(path, entry));
  }
}

function goEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // Pure Go (modernc SQLite): static binaries, no C toolchain needed.
    CGO_ENABLED: '0',
    // The ferretdb module must not be pulled into some outer go.work.
    GOWORK: 'off',
    ...extra,
  };
}

async function findGo(): Promise<string | undefined> {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/local/go/bin', '/usr/lib/go/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, 'go');
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Fallback when `go install` is impossible: Debian's package (root only). */
async function aptNatsServer(log: (line: string) => void, cause: unknown): Promise<string> {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const installed = async (): Promise<string | undefined> => {
    for (const candidate of ['/usr/bin/nats-server', '/usr/sbin/nats-server']) {
      if (await isExecutable(candidate)) return candidate;
    }
    return undefined;
  };
  const present = await installed();
  if (present !== undefined) {
    log(`cannot build nats-server ${NATS_SERVER_VERSION}, using the installed ${present}: ${firstLine(reason)}`);
    return present;
  }
  const aptGet = '/usr/bin/apt-get';
  if (process.getuid?.() !== 0 || !(await isExecutable(aptGet))) {
    throw new Error(`cannot build nats-server ${NATS_SERVER_VERSION} and no apt-get fallback (needs root): ${reason}`);
  }
  log(`cannot build nats-server ${NATS_SERVER_VERSION}, installing Debian's nats-server package: ${firstLine(reason)}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run(aptGet, ['update'], { env });
  await run(aptGet, ['install', '-y', '--no-install-recommends', 'nats-server'], { env });
  const found = await installed();
  if (found !== undefined) return found;
  throw new Error('apt-get installed nats-server but no binary was found');
}

/**
 * Returns `target`, building it first when missing. Only one process builds
 * at a time (lock file `<target>.lock`); others wait for it. `build` writes
 * the binary to the given temp path, which is renamed atomically to `target`,
 * or returns an already existing binary to use instead (not cached).
 */
async function buildOnce(
  target: string,
  what: string,
  log: (line: string) => void,
  build: (tmp: string) => Promise<string | undefined>,
): Promise<string> {
  if (await isExecutable(target)) return target;
  await mkdir(CACHE_DIR, { recursive: true });
  const lock = `${target}.lock`;
  let waiting = false;
  for (;;) {
    if (await isExecutable(target)) return target;
    const handle = await open(lock, 'wx').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') return undefined;
      throw err;
    });
    if (handle === undefined) {
      if (await removeIfStale(lock)) continue;
      if (!waiting) {
        log(`waiting for another process that is building ${what}…`);
        waiting = true;
      }
      await sleep(500);
      continue;
    }
    try {
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      if (await isExecutable(target)) return target;
      const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      const started = Date.now();
      try {
        const alternative = await build(tmp);
        if (alternative !== undefined) return alternative;
        await chmod(tmp, 0o755);
        await rename(tmp, target);
      } finally {
        await rm(tmp, { force: true });
      }
      log(`built ${what} in ${((Date.now() - started) / 1000).toFixed(1)} s → ${target}`);
      return target;
    } finally {
      await unlink(lock).catch(() => undefined);
    }
  }
}

async function removeIfStale(lock: string): Promise<boolean> {
  try {
    const [content, info] = await Promise.all([readFile(lock, 'utf8'), stat(lock)]);
    const pid = Number.parseInt(content, 10);
    const age = Date.now() - info.mtimeMs;
    // An empty lock is being written right now, unless it is old.
    const abandoned = Number.isInteger(pid) ? !isAlive(pid) : age > 10_000;
    if (!abandoned && age < STALE_LOCK_MS) return false;
    await unlink(lock);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, fsConstants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------

/** Output kept per process for error messages. */
const TAIL_LINES = 40;

class Tail {
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
function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<string> {
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
const ownedTempDirs = new Set<string>();
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

interface Managed {
  name: string;
  child: ChildProcess;
  tail: Tail;
  /** Settles when the process has exited. */
  exited: Promise<void>;
  exitStatus(): string | undefined;
}

async function spawnServer(name: string, command: string, args: string[]): Promise<Managed> {
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
  child.stdout?.on('data', (chunk: Buffer) => tail.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => tail.push(chunk));
  return { name, child, tail, exited, exitStatus: () => status };
}

async function stopServer(server: Managed): Promise<void> {
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

/** Asks the OS for a free loopback port. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port of a probe listener'));
      });
    });
  });
}

function tcpProbe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

async function natsReady(url: string): Promise<void> {
  const nc = await natsConnect({ servers: url, reconnect: false, timeout: 2_000 });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 2_000 });
    await jsm.getAccountInfo();
  } finally {
    await nc.close();
  }
}

async function mongoReady(url: string, port: number): Promise<void> {
  if (!(await tcpProbe(port))) throw new Error(`nothing accepts connections on 127.0.0.1:${port} yet`);
  const client = new MongoClient(url, {
    directConnection: true,
    serverSelectionTimeoutMS: 2_000,
    connectTimeoutMS: 2_000,
  });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close();
  }
}

class ServerStartError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
  }
}

/** Polls `probe` until it succeeds, the process dies or the timeout hits. */
async function waitReady(server: Managed, probe: () => Promise<void>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    const status = server.exitStatus();
    if (status !== undefined) {
      const output = server.tail.text();
      throw new ServerStartError(
        `${server.name} ${status} before it was ready. Last output:\n${output}`,
        /address already in use|bind: /i.test(output),
      );
    }
    try {
      await probe();
      return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await Promise.race([sleep(delay), server.exited]);
  }
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  await stopServer(server);
  throw new ServerStartError(
    `${server.name} did not answer within ${timeoutMs} ms (last probe error: ${reason}). Last output:\n${server.tail.text()}`,
    false,
  );
}

/** Spawns and waits for readiness; retries with a new port if the picked one was taken meanwhile. */
async function startServer(
  name: string,
  launch: (port: number) => { command: string; args: string[]; url: string; probe: () => Promise<void> },
  timeoutMs: number,
  log: (line: string) => void,
): Promise<{ server: Managed; url: string }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const spec = launch(port);
    const started = Date.now();
    const server = await spawnServer(name, spec.command, spec.args);
    try {
      await waitReady(server, spec.probe, timeoutMs);
      log(`${name} ready at ${spec.url} in ${Date.now() - started} ms`);
      return { server, url: spec.url };
    } catch (err) {
      await stopServer(server);
      if (err instanceof ServerStartError && err.portInUse && attempt < 3) continue;
      throw err;
    }
  }
}

/**
 * Starts nats-server (JetStream) and FerretDB on free loopback ports, unless
 * `NATS_URL` / `MONGODB_URL` point to running servers already.
 */
export async function startLocalServers(options: StartOptions = {}): Promise<LocalServers> {
  const log = options.log ?? defaultLog;
  const env = options.env ?? process.env;
  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  const externalNats = nonEmpty(env['NATS_URL']);
  const externalMongo = nonEmpty(env['MONGODB_URL']);

  const ferretdbBin = externalMongo === undefined ? await ensureFerretdb(log) : undefined;
  const natsBin = externalNats === undefined ? await ensureNatsServer(log) : undefined;

  const ownsDataDir = options.dataDir === undefined && (natsBin !== undefined || ferretdbBin !== undefined);
  const dataDir = options.dataDir ?? (ownsDataDir ? await mkdtemp(join(tmpdir(), 'happyride-servers-')) : '');
  if (ownsDataDir) ownedTempDirs.add(dataDir);

  const servers: Managed[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all(servers.map(stopServer));
      if (ownsDataDir) {
        await rm(dataDir, { recursive: true, force: true });
        ownedTempDirs.delete(dataDir);
      }
    })();
    return stopping;
  };

  // Both start in parallel; allSettled so that a failure of one never leaves
  // the other running untracked.
  const [nats, mongo] = await Promise.allSettled([
    externalNats ?? startNats(natsBin ?? '', join(dataDir, 'nats'), options.natsSyncInterval ?? 'always', timeoutMs, log, servers),
    externalMongo ?? startFerretdb(ferretdbBin ?? '', join(dataDir, 'ferretdb'), timeoutMs, log, servers),
  ]);
  if (nats.status === 'rejected' || mongo.status === 'rejected') {
    await stop();
    const errors = [nats, mongo].flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    throw errors.length === 1 ? errors[0] : new AggregateError(errors, errors.map(String).join('\n'));
  }
  return { natsUrl: nats.value, mongoUrl: mongo.value, stop };
}

async function startNats(
  bin: string,
  storeDir: string,
  syncInterval: string,
  timeoutMs: number,
  log: (line: string) => void,
  servers: Managed[],
): Promise<string> {
  await mkdir(storeDir, { recursive: true });
  const { server, url } = await startServer(
    'nats-server',
    (port) => {
      const url = `nats://127.0.0.1:${port}`;
      return {
        command: bin,
        args: ['-c', natsConfigFile(storeDir, port, syncInterval)],
        url,
        probe: () => natsReady(url),
      };
    },
    timeoutMs,
    log,
  );
  servers.push(server);
  return url;
}

/** Writes nats-server's configuration beside its store (JSON is valid NATS config syntax). */
function natsConfigFile(storeDir: string, port: number, syncInterval: string): string {
  const file = join(storeDir, 'nats-server.conf');
  const config = { server_name: 'happyride-local', listen: `127.0.0.1:${port}`, jetstream: { store_dir: storeDir, sync_interval: syncInterval } };
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

async function startFerretdb(
  bin: string,
  sqliteDir: string,
  timeoutMs: number,
  log: (line: string) => void,
  servers: Managed[],
): Promise<string> {
  await mkdir(sqliteDir, { recursive: true });
  const { server, url } = await startServer(
    'ferretdb',
    (port) => {
      const url = `mongodb://127.0.0.1:${port}/`;
      return {
        command: bin,
        args: ['-listen', `127.0.0.1:${port}`, '-sqlite-dir', sqliteDir],
        url,
        probe: () => mongoReady(url, port),
      };
    },
    timeoutMs,
    log,
  );
  servers.push(server);
  return url;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}

// For the other Go-built servers (`stripe-mock.ts`): the same cache, lock, build and process handling.
export { buildOnce, CACHE_DIR, findGo, freePort, goEnv, run, spawnServer, stopServer, tcpProbe, type Managed };
