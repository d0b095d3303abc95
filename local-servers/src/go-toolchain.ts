/** Finding `go`, the environment our Go builds run with, and `go install` into the build cache. */
import { rename, rm } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { CACHE_DIR, isExecutable } from './build-cache.ts';
import { run } from './child-processes.ts';

export function goEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // Pure Go (modernc SQLite): static binaries, no C toolchain needed.
    CGO_ENABLED: '0',
    // The ferretdb module must not be pulled into some outer go.work.
    GOWORK: 'off',
    ...extra,
  };
}

export async function findGo(): Promise<string | undefined> {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/local/go/bin', '/usr/lib/go/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, 'go');
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * `go install module@version` into a scratch GOBIN, its `binary` moved to `target` (a
 * `buildOnce` temporary path); the scratch directory goes whatever happens.
 */
export async function goInstall(go: string, module: string, version: string, binary: string, target: string): Promise<void> {
  const gobin = `${target}.d`;
  try {
    await run(go, ['install', '-trimpath', `${module}@${version}`], { cwd: CACHE_DIR, env: goEnv({ GOBIN: gobin }) });
    await rename(join(gobin, binary), target);
  } finally {
    await rm(gobin, { recursive: true, force: true });
  }
}
