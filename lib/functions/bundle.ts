/**
 * Bundles every handler under `lambda/<name>/index.ts` once per synth with esbuild (minified, AWS
 * SDK included, ESM for Node 22 on ARM64). Every regional stack then points at the same staged
 * asset, so adding a region adds no bundling work.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildSync, type Metafile } from 'esbuild';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const LAMBDA_DIR = path.join(PROJECT_ROOT, 'lambda');
export const BUILD_DIR = path.join(PROJECT_ROOT, '.build', 'lambda');

/**
 * The SDK's fallback credential providers, which its default chain imports lazily (`await import`)
 * only when no credentials are in the environment. Lambda always puts the function's role
 * credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), so
 * these are never reached there; leaving them out saves about 100 KiB per bundle (SSO, STS and
 * sign-in clients). Outside Lambda without environment credentials, the first SDK call fails with
 * ERR_MODULE_NOT_FOUND naming the provider.
 */
export const UNREACHABLE_IN_LAMBDA = [
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/credential-provider-http',
  '@smithy/credential-provider-imds',
] as const;

/** esbuild options shared by the one-shot bundle and the per-stack baseline used by `npm run bench`. */
export const ESBUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  minify: true,
  // ESM builds first: they tree-shake (the SDK's CommonJS builds do not).
  mainFields: ['module', 'main'],
  external: UNREACHABLE_IN_LAMBDA,
  legalComments: 'none',
  // ESM bundles still meet CommonJS dependencies that call require(): give them one.
  banner: {
    js: "import{createRequire as __mcr}from'node:module';const require=__mcr(import.meta.url);",
  },
} as const;

/** Handler names: every folder of `lambda/` with an `index.ts`, except `shared`. */
export function handlerNames(): string[] {
  return fs
    .readdirSync(LAMBDA_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'shared')
    .filter((d) => fs.existsSync(path.join(LAMBDA_DIR, d.name, 'index.ts')))
    .map((d) => d.name)
    .sort();
}

export interface Bundles {
  /** Folder holding `index.mjs` for each handler, ready for `Code.fromAsset`. */
  readonly dirs: ReadonlyMap<string, string>;
  readonly metafile: Metafile;
}

let cached: Bundles | undefined;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * This process's bundle folder, `.build/lambda/<pid>`: concurrent synths, tests and benchmarks in
 * one checkout never overwrite each other's bundles. Folders of processes that ended are removed.
 */
function processBuildDir(): string {
  if (fs.existsSync(BUILD_DIR))
    for (const entry of fs.readdirSync(BUILD_DIR)) {
      const pid = Number(entry);
      if (!Number.isInteger(pid) || (pid !== process.pid && !alive(pid)))
        fs.rmSync(path.join(BUILD_DIR, entry), { recursive: true, force: true });
    }
  return path.join(BUILD_DIR, String(process.pid));
}

/** Bundles all handlers in one esbuild call the first time it is asked; later calls reuse it. */
export function bundleHandlers(dir?: string): Bundles {
  if (cached) return cached;
  const outDir = dir ?? processBuildDir();
  const names = handlerNames();
  fs.rmSync(outDir, { recursive: true, force: true });
  const result = buildSync({
    ...ESBUILD_OPTIONS,
    banner: { ...ESBUILD_OPTIONS.banner },
    mainFields: [...ESBUILD_OPTIONS.mainFields],
    external: [...ESBUILD_OPTIONS.external],
    entryPoints: Object.fromEntries(
      names.map((n) => [`${n}/index`, path.join(LAMBDA_DIR, n, 'index.ts')]),
    ),
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    metafile: true,
    logLevel: 'error',
  });
  cached = {
    dirs: new Map(names.map((n) => [n, path.join(outDir, n)])),
    metafile: result.metafile,
  };
  return cached;
}
