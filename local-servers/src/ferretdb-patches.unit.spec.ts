import { describe, expect, it } from 'vitest';
import { applySourcePatch, FERRETDB_ADDITIONS, FERRETDB_PATCHES, patchesFingerprint, type SourcePatch } from './ferretdb-patches.ts';

const patch: SourcePatch = { file: 'a.go', find: `X = "->'$._id'"`, replace: `X = "->'_id'"`, why: 'test' };

describe('applySourcePatch', () => {
  it('given the expected text once, then only that text is replaced', () => {
    expect(applySourcePatch(`const (\n\tX = "->'$._id'"\n\tY = 1\n)`, patch)).toBe(`const (\n\tX = "->'_id'"\n\tY = 1\n)`);
  });

  it('given a source without the expected text (another FerretDB version), then it refuses with the file named', () => {
    expect(() => applySourcePatch('const X = "other"', patch)).toThrow(/a\.go: expected text not found.*FerretDB version changed/);
  });

  it('given the expected text twice, then it refuses rather than guess which one', () => {
    expect(() => applySourcePatch(`${patch.find}\n${patch.find}`, patch)).toThrow(/a\.go: expected text occurs more than once/);
  });
});

describe('FERRETDB_PATCHES', () => {
  it('given the _id lookup patch, then it rewrites the expression to the one the _id index is built on', () => {
    const idColumn = FERRETDB_PATCHES.find((p) => p.file.endsWith('sqlite/metadata/metadata.go'));
    expect(idColumn?.replace).toContain(`"->'_id'"`);
    expect(idColumn?.why).toMatch(/index/);
  });

  it('given the ordered-limit pushdown, then only a find with the ordered-keys comment gets it, and each piece says why it is exact', () => {
    const handler = FERRETDB_ADDITIONS.find((a) => a.file === 'internal/handler/happyride_ordered.go');
    expect(handler?.content).toContain('"happyride:ordered-keys"');
    const find = FERRETDB_PATCHES.find((p) => p.file === 'internal/handler/msg_find.go');
    expect(find?.replace).toContain('orderedPushdown(params.Comment');
    for (const piece of [handler, find]) expect(piece?.why).toMatch(/Exact under the promise/);
  });

  it('given a patch changed, then the fingerprint (part of the cached binary name) changes', () => {
    expect(patchesFingerprint([patch])).not.toBe(patchesFingerprint([{ ...patch, replace: 'other' }]));
    expect(patchesFingerprint([patch])).toBe(patchesFingerprint([{ ...patch, why: 'reworded' }]));
  });
});
