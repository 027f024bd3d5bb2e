/**
 * The command lines a README shows, and a throw-away fork of the project to run them in.
 *
 * Commands are every line of a ```sh / ```bash / ```console / ```shell block (trailing `# …`
 * comments stripped, `\` continuations joined; a line that is only a comment is the expected
 * output of the command before it) and every inline code span that starts like a command.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { copyProject } from '../../bench/project-copy';

export const PROJECT_ROOT = path.join(__dirname, '..', '..');

/** Inline code spans starting with one of these are commands (or flags) the README documents. */
const INLINE_PREFIXES = [
  'npm run ',
  'npm test',
  'npm install',
  'npx ',
  'aws ',
  'cdk ',
  'terraform ',
  'MERIDIAN__',
  'DATABASE_URL=',
  '-c ',
];

export interface ReadmeCommand {
  /** The command as shown, comments stripped, continuations joined. */
  readonly line: string;
  /** Where it is shown: `README.md:42` (every place, when shown more than once). */
  readonly sources: readonly string[];
  /** Comment-only lines right after it in its block: the output the README promises. */
  readonly expected: readonly string[];
  /** The command before it in the same block (for lines that elide part of it with `…`). */
  readonly previous?: string;
}

/** `line` without a trailing `# comment` (a `#` after whitespace, outside quotes). */
export function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] as string)))
      return line.slice(0, i).trimEnd();
  }
  return line.trimEnd();
}

/** The commands of one Markdown file, in order of first appearance, each line once. */
export function readmeCommands(file: string, shownAs: string): ReadmeCommand[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const found: { line: string; source: string; expected: string[]; previous?: string }[] = [];
  const prose: { text: string; lineNo: number }[] = [];
  let fence: { indent: number; shell: boolean } | undefined;
  let pending = '';
  let previous: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    const opener = /^(\s*)```\s*(\w*)/.exec(raw);
    if (!fence) {
      if (opener) {
        fence = {
          indent: opener[1]?.length ?? 0,
          shell: /^(sh|bash|console|shell)$/.test(opener[2] ?? ''),
        };
        previous = undefined;
      } else prose.push({ text: raw, lineNo: i + 1 });
      continue;
    }
    if (opener && /^\s*```\s*$/.test(raw)) {
      fence = undefined;
      continue;
    }
    if (!fence.shell) continue;
    let text = raw.slice(Math.min(fence.indent, raw.length - raw.trimStart().length));
    if (text.trim() === '') continue;
    if (pending === '' && /^\s*#/.test(text)) {
      found.at(-1)?.expected.push(text.trim().replace(/^#\s?/, ''));
      continue;
    }
    text = text.replace(/^\$ /, '');
    const body = stripComment(text);
    if (body.endsWith('\\')) {
      pending += `${body.slice(0, -1).trim()} `;
      continue;
    }
    const line = (pending + body.trim()).trim();
    pending = '';
    found.push({
      line,
      source: `${shownAs}:${i + 1}`,
      expected: [],
      ...(previous ? { previous } : {}),
    });
    previous = line;
  }
  // Inline spans may wrap onto the next line; join the prose and map offsets back to lines.
  const joined = prose.map((p) => p.text).join('\n');
  const lineAt = (offset: number) =>
    prose[joined.slice(0, offset).split('\n').length - 1]?.lineNo ?? 0;
  for (const m of joined.matchAll(/`([^`]+)`/g)) {
    const span = (m[1] as string).replace(/\s*\n\s*/g, ' ').trim();
    if (INLINE_PREFIXES.some((p) => span.startsWith(p)))
      found.push({ line: span, source: `${shownAs}:${lineAt(m.index)}`, expected: [] });
  }
  found.sort((a, b) => Number(a.source.split(':')[1]) - Number(b.source.split(':')[1]));
  const byLine = new Map<string, ReadmeCommand>();
  for (const f of found) {
    const seen = byLine.get(f.line);
    byLine.set(f.line, {
      line: f.line,
      sources: [...(seen?.sources ?? []), f.source],
      expected: [...(seen?.expected ?? []), ...f.expected],
      ...((seen?.previous ?? f.previous) ? { previous: seen?.previous ?? f.previous } : {}),
    });
  }
  return [...byLine.values()];
}

export interface Run {
  readonly line: string;
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
  /**
   * A copy of what the run wrote to `cdk.out/` (top-level JSON: manifest, templates, validation
   * report), `cdktf.out/` and `reports/`, so later runs cannot overwrite what a check reads;
   * undefined when the run wrote no cloud assembly.
   */
  readonly out?: string;
}

/** `run`, having exited 0; else an error with the end of its output, to read in the failure. */
export function ok(run: Run): Run {
  if (run.status !== 0)
    throw new Error(
      `\`${run.line}\` exited ${run.status}:\n${(run.stdout + run.stderr).slice(-3000)}`,
    );
  return run;
}

/** A copy of the project to run README lines in, with the minimal fixture as its `regions/`. */
export class ProjectFork {
  readonly dir: string;
  private readonly runs = new Map<string, Run>();

  constructor(regions: string) {
    this.dir = copyProject(regions, 'meridian-readme-');
  }

  /** Runs `line` verbatim with bash in the fork, once: a second call returns the first run. */
  run(line: string): Run {
    const done = this.runs.get(line);
    if (done) return done;
    const env: NodeJS.ProcessEnv = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MERIDIAN'))),
      CDK_HOME: path.join(this.dir, '.cdk-home'),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const started = Date.now();
    const r: SpawnSyncReturns<string> = spawnSync('bash', ['-c', line], {
      cwd: this.dir,
      env,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const run: Run = {
      line,
      status: r.status,
      stdout: r.stdout,
      stderr: r.stderr,
      seconds: (Date.now() - started) / 1000,
      ...this.snapshot(started),
    };
    this.runs.set(line, run);
    return run;
  }

  /** Every run so far, in order (for the timing summary). */
  allRuns(): Run[] {
    return [...this.runs.values()];
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private snapshot(since: number): { out?: string } {
    const manifest = path.join(this.dir, 'cdk.out', 'manifest.json');
    if (!fs.existsSync(manifest) || fs.statSync(manifest).mtimeMs < since - 1000) return {};
    const out = path.join(this.dir, '.runs', String(this.runs.size));
    fs.mkdirSync(path.join(out, 'cdk.out'), { recursive: true });
    for (const f of fs
      .readdirSync(path.join(this.dir, 'cdk.out'))
      .filter((f) => f.endsWith('.json')))
      fs.copyFileSync(path.join(this.dir, 'cdk.out', f), path.join(out, 'cdk.out', f));
    for (const d of ['cdktf.out', 'reports'])
      if (fs.existsSync(path.join(this.dir, d)))
        fs.cpSync(path.join(this.dir, d), path.join(out, d), { recursive: true });
    return { out };
  }
}

export interface SynthesizedStack {
  readonly id: string;
  readonly account: string;
  readonly region: string;
  readonly templateText: string;
  readonly template: {
    Resources: Record<
      string,
      { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }
    >;
  };
}

/** The CloudFormation stacks of a run's snapshot (`Run.out`). */
export function stacksOf(out: string): SynthesizedStack[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'cdk.out', 'manifest.json'), 'utf8'));
  return Object.entries(
    manifest.artifacts as Record<
      string,
      { type: string; environment: string; properties: { templateFile: string } }
    >,
  )
    .filter(([, a]) => a.type === 'aws:cloudformation:stack')
    .map(([id, a]) => {
      const [account = '', region = ''] = a.environment.replace('aws://', '').split('/');
      const templateText = fs.readFileSync(
        path.join(out, 'cdk.out', a.properties.templateFile),
        'utf8',
      );
      return { id, account, region, templateText, template: JSON.parse(templateText) };
    });
}

/** `README expected-output` text with `…` as "anything" → a RegExp for one output line. */
export function expectedLine(expected: string): RegExp {
  const parts = expected.split('…').map((p) => p.trim().replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}`, 'm');
}
