/**
 * FerretDB (MongoDB wire protocol, SQLite backend), embedded in the tiny Go program in
 * `local-servers/ferretdb/` and built with our source patches (ferretdb-patches.ts).
 */
import { createHash } from 'node:crypto';
import { chmod, cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOnce, CACHE_DIR } from './build-cache.ts';
import { run } from './child-processes.ts';
import { applySourcePatch, FERRETDB_ADDITIONS, FERRETDB_PATCHES, patchesFingerprint } from './ferretdb-patches.ts';
import { findGo, goEnv } from './go-toolchain.ts';
import { defaultLog } from './text.ts';

export const FERRETDB_VERSION = 'v1.24.2';
const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';
const FERRETDB_SRC = fileURLToPath(new URL('../ferretdb/', import.meta.url));

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
