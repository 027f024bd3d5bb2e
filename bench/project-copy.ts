/**
 * A throw-away copy of the project, to run its commands where they cannot touch this checkout's
 * outputs (`cdk.out/`, `reports/`, `.build/`): the sources, the configuration files and a
 * `regions/` folder are copied; `node_modules` is linked. Used by the bench (`npm run synth` end to
 * end) and by the README and fork tests.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../lib/functions/bundle';

const DIRS = ['bin', 'lib', 'lambda', 'scripts', 'bench'];
const FILES = [
  'cdk.json',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'cdk.context.json',
];

/** A new copy under the system's temporary folder, with `regions` as its `regions/`. */
export function copyProject(regions: string, prefix = 'meridian-copy-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const d of DIRS)
    fs.cpSync(path.join(PROJECT_ROOT, d), path.join(dir, d), { recursive: true });
  for (const f of FILES)
    if (fs.existsSync(path.join(PROJECT_ROOT, f)))
      fs.copyFileSync(path.join(PROJECT_ROOT, f), path.join(dir, f));
  fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  fs.cpSync(regions, path.join(dir, 'regions'), { recursive: true });
  return dir;
}
