import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

type Manifest = { name: string; workspaces?: string[]; exports?: Record<string, string> };
const read = (path: string) => JSON.parse(readFileSync(new URL(`../${path}`, import.meta.url), 'utf8')) as Manifest;
const root = read('package.json');
const folders = (root.workspaces ?? []).flatMap((pattern) =>
  pattern.endsWith('/*') ? readdirSync(new URL(`../${pattern.slice(0, -2)}`, import.meta.url)).map((name) => `${pattern.slice(0, -2)}/${name}`) : [pattern],
);

describe('npm workspaces', () => {
  it.each(folders)('given the workspace %s, then each export without a wildcard names a file that exists', (folder) => {
    const exports = read(`${folder}/package.json`).exports ?? {};
    for (const [key, target] of Object.entries(exports)) {
      if (target.includes('*')) continue;
      expect(existsSync(new URL(`../${folder}/${target}`, import.meta.url)), `${folder} exports ${key} → ${target}`).toBe(true);
    }
  });
});
