import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Bundles, bundleHandlers, UNREACHABLE_IN_LAMBDA } from '../../lib/functions/bundle';

let bundles: Bundles;
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-bundle-'));
  bundles = bundleHandlers(dir);
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const fromPackage = (file: string, pkg: string) => file.includes(`node_modules/${pkg}/`);

describe('handler bundles', () => {
  test('carry none of the credential providers Lambda never reaches', () => {
    const inputs = Object.keys(bundles.metafile.inputs);
    for (const pkg of UNREACHABLE_IN_LAMBDA)
      expect(inputs.filter((f) => fromPackage(f, pkg))).toEqual([]);
    // The SDK's default chain (environment credentials first) is still bundled.
    expect(inputs.some((f) => fromPackage(f, '@aws-sdk/credential-provider-env'))).toBe(true);
  });

  test('leave the fallbacks as imports the chain reaches only without environment credentials', () => {
    const lock = Object.entries(bundles.metafile.outputs).find(([f]) =>
      f.endsWith('failover-lock/index.mjs'),
    )?.[1];
    const external = lock?.imports.filter((i) => i.external).map((i) => `${i.kind} ${i.path}`);
    expect(external).toEqual(
      expect.arrayContaining(UNREACHABLE_IN_LAMBDA.map((p) => `dynamic-import ${p}`)),
    );
    expect(
      external?.filter((i) => !i.startsWith('dynamic-import ') && !i.includes('node:')),
    ).toEqual([]);
  });
});
