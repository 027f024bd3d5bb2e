import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { isBuiltin } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Bundles, bundleHandlers, UNREACHABLE_IN_LAMBDA } from '../../lib/functions/bundle';
import { BUNDLE_LIMIT_KIB, OVER_LIMIT } from '../../lib/functions/bundle-budget';
import { oneRegionRunbook } from '../support/runbook-config';

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
    const external = lock?.imports
      .filter((i) => i.external && !isBuiltin(i.path))
      .map((i) => `${i.kind} ${i.path}`);
    expect(external).toEqual(
      expect.arrayContaining(UNREACHABLE_IN_LAMBDA.map((p) => `dynamic-import ${p}`)),
    );
    expect(external?.filter((i) => !i.startsWith('dynamic-import '))).toEqual([]);
  });
});

/** Each handler's bundle size in KiB, from esbuild's metafile. */
function sizesKiB(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of bundles.dirs.keys()) {
    const entry = Object.entries(bundles.metafile.outputs).find(([f]) =>
      f.endsWith(`${name}/index.mjs`),
    );
    out[name] = (entry?.[1].bytes ?? Number.NaN) / 1024;
  }
  return out;
}

test(`every bundle is under ${BUNDLE_LIMIT_KIB} KiB, but the listed ones, none past its ceiling`, () => {
  const sizes = sizesKiB();
  const problems: string[] = [];
  for (const [name, kib] of Object.entries(sizes)) {
    const over = OVER_LIMIT[name];
    const size = `${name} is ${kib.toFixed(1)} KiB`;
    if (!over && !(kib < BUNDLE_LIMIT_KIB))
      problems.push(`${size}, over the ${BUNDLE_LIMIT_KIB} KiB limit: make it smaller`);
    if (over && !(kib <= over.ceilingKiB))
      problems.push(`${size}, past its ceiling of ${over.ceilingKiB} KiB: make it smaller`);
    if (over && kib < BUNDLE_LIMIT_KIB)
      problems.push(`${size}, under the limit now: take it off OVER_LIMIT`);
  }
  for (const name of Object.keys(OVER_LIMIT))
    if (!(name in sizes)) problems.push(`OVER_LIMIT names ${name}, which is no handler`);
  expect(problems).toEqual([]);
});

/** The environment Lambda gives a function (credentials are fake). */
const lambdaEnv = (runbook: object) => ({
  PATH: process.env.PATH ?? '',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'secret',
  AWS_SESSION_TOKEN: 'token',
  // Nothing listens there: the call fails fast, after its attempts.
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
  AWS_LAMBDA_FUNCTION_NAME: 'meridian-failover-lock',
  AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
  LAMBDA_TASK_ROOT: '/var/task',
  _HANDLER: 'index.handler',
  _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
  POWERTOOLS_SERVICE_NAME: 'failover-lock',
  POWERTOOLS_LOG_LEVEL: 'DEBUG',
  POWERTOOLS_METRICS_DISABLED: 'true',
  MERIDIAN_RUNBOOK: JSON.stringify(runbook),
});

test('a bundled step reports each AWS call in its log, with credentials from the environment', async () => {
  const runbook = oneRegionRunbook('eu-west-1', 'meridian-test-lock');
  const bundle = path.join(bundles.dirs.get('failover-lock') ?? '', 'index.mjs');
  const script = `const { handler } = await import(${JSON.stringify(`file://${bundle}`)});
    try { await handler({ execution: 'e', input: { cell: 'eu', failedRegion: 'eu-west-1', mode: 'auto' } }); }
    catch (e) { console.log(JSON.stringify({ thrown: e.message })); }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: lambdaEnv(runbook),
  });
  let out = '';
  // Powertools writes WARN and ERROR lines to stderr, the others to stdout.
  for (const stream of [child.stdout, child.stderr])
    stream.on('data', (d) => {
      out += String(d);
    });
  await new Promise((resolve) => child.on('close', resolve));
  expect(out).toContain('ECONNREFUSED'); // the credentials were found, the request was sent
  const lines = out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines).toContainEqual(
    expect.objectContaining({
      level: 'WARN',
      message: 'AWS call failed',
      service: 'failover-lock',
      awsCall: expect.objectContaining({ client: 'DynamoDB', operation: 'UpdateItem' }),
    }),
  );
  expect(out).not.toContain('meridian-test-lock"'); // a call's input is never logged
});
