/**
 * Where built binaries are cached (`<repo>/.cache/bin/`, under versioned names) and the lock
 * that serializes builds between processes: a build lands through an atomic rename.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, chmod, mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { nonEmpty } from './text.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Where built binaries are cached; `LOCAL_SERVERS_BIN_DIR` overrides (e.g. a CI cache). */
export const CACHE_DIR = nonEmpty(process.env['LOCAL_SERVERS_BIN_DIR']) ?? join(REPO_ROOT, '.cache', 'bin');
/** A lock older than this is considered abandoned even if its pid looks alive. */
const STALE_LOCK_MS = 30 * 60_000;

/**
 * Returns `target`, building it first when missing. Only one process builds
 * at a time (lock file `<target>.lock`); others wait for it. `build` writes
 * the binary to the given temp path, which is renamed atomically to `target`,
 * or returns an already existing binary to use instead (not cached).
 */
export async function buildOnce(
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

export async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, fsConstants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
