/** nats-server, `go install`ed at a pinned version (Debian's package as a fallback). */
import { join } from 'node:path';
import { buildOnce, CACHE_DIR, isExecutable } from './build-cache.ts';
import { run } from './child-processes.ts';
import { findGo, goInstall } from './go-toolchain.ts';
import { defaultLog, firstLine } from './text.ts';

export const NATS_SERVER_VERSION = 'v2.11.17';
const NATS_MODULE = 'github.com/nats-io/nats-server/v2';

export async function ensureNatsServer(log: (line: string) => void = defaultLog): Promise<string> {
  const target = join(CACHE_DIR, `nats-server-${NATS_SERVER_VERSION}`);
  return buildOnce(target, `nats-server ${NATS_SERVER_VERSION}`, log, async (tmp) => {
    const go = await findGo();
    if (go === undefined) return aptNatsServer(log, new Error('no `go` found on PATH or in /usr/local/go/bin'));
    log(`building nats-server ${NATS_SERVER_VERSION} (first run only, ~1 min)…`);
    try {
      await goInstall(go, NATS_MODULE, NATS_SERVER_VERSION, 'nats-server', tmp);
      return undefined;
    } catch (err) {
      return aptNatsServer(log, err);
    }
  });
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
