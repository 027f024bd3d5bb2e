/**
 * A configuration problem: where it is (file, line, field), what was received and what is
 * expected. Every check in lib/config reports these; they are printed one per line.
 */
export type Path = readonly (string | number)[];

/** Where a value came from: a file (and line) or an environment variable. */
export interface Origin {
  /** `regions/eu-west-1.yaml`, or `env MERIDIAN__...` for an environment variable. */
  readonly file: string;
  /** 1-based line in `file`, when known. */
  readonly line?: number;
  /** The field path inside that file. */
  readonly path: Path;
  /** A number as written in the file (`012345678901`), for a "quote it" hint. */
  readonly raw?: string;
}

export interface Problem {
  readonly origin: Origin;
  /** What was received; `undefined` means the field is missing. */
  readonly value: unknown;
  /** Said of the value, in brackets after it: `got 12345678901 (a YAML number; …)`. */
  readonly note?: string;
  /** What is expected instead, phrased to complete "expected …". */
  readonly expected: string;
  /** Set on the one line that stands for the problems of `origin.file` left out (see LIMIT_PER_FILE). */
  readonly more?: number;
}

/** Problem lines shown per file (or variable); the rest are counted in one line. */
export const LIMIT_PER_FILE = 20;

/** Thrown when `regions/` is not valid; carries every problem found, not just the first. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly Problem[]) {
    super(
      `regions/ has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems
        .map((p) => `  ${formatProblem(p)}`)
        .join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

export function formatPath(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

export function formatValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = 'a value that contains itself'; // refused when read; never a crash while reporting
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** `regions/eu-west-1.yaml:7 cidr: got "10.0.0.0/33"; expected an IPv4 CIDR ...` */
export function formatProblem(p: Problem): string {
  const where = p.origin.line === undefined ? p.origin.file : `${p.origin.file}:${p.origin.line}`;
  if (p.more !== undefined) {
    return oneLine(`${p.origin.file}: … and ${p.more} more problems in ${p.origin.file}`);
  }
  const field = p.origin.path.length > 0 ? ` ${formatPath(p.origin.path)}` : '';
  const note = p.note ? ` (${p.note})` : '';
  return oneLine(`${where}${field}: got ${formatValue(p.value)}${note}; expected ${p.expected}`);
}

/**
 * Every control character (C0, DEL, C1) and line or paragraph separator written as `\u001b`:
 * keys, file and variable names come from the user, and must neither move the terminal nor
 * start a line that looks like another problem.
 */
export function oneLine(text: string): string {
  return text.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: they are what is escaped
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * Problems sorted by file and line, exact repeats removed (a bad global default is reported once),
 * at most LIMIT_PER_FILE per file followed by one line counting the rest.
 */
export function uniqueProblems(problems: readonly Problem[]): Problem[] {
  // Each line formatted once (not once per comparison): thousands of problems stay quick.
  const byLine = new Map<string, Problem>();
  for (const p of problems) {
    const line = formatProblem(p);
    if (!byLine.has(line)) byLine.set(line, p);
  }
  const unique = [...byLine]
    .sort(
      ([la, a], [lb, b]) =>
        a.origin.file.localeCompare(b.origin.file) ||
        (a.origin.line ?? 0) - (b.origin.line ?? 0) ||
        la.localeCompare(lb),
    )
    .map(([, p]) => p);
  const shown = new Map<string, number>();
  const out: Problem[] = [];
  for (const p of unique) {
    const n = (shown.get(p.origin.file) ?? 0) + 1;
    shown.set(p.origin.file, n);
    if (n <= LIMIT_PER_FILE) out.push(p);
  }
  for (const [file, n] of shown) {
    if (n <= LIMIT_PER_FILE) continue;
    const last = out.findLastIndex((p) => p.origin.file === file);
    const more = {
      origin: { file, path: [] },
      value: undefined,
      expected: '',
      more: n - LIMIT_PER_FILE,
    };
    out.splice(last + 1, 0, more);
  }
  return out;
}
