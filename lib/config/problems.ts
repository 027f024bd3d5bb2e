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
}

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
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** `regions/eu-west-1.yaml:7 cidr: got "10.0.0.0/33"; expected an IPv4 CIDR ...` */
export function formatProblem(p: Problem): string {
  const where = p.origin.line === undefined ? p.origin.file : `${p.origin.file}:${p.origin.line}`;
  const field = p.origin.path.length > 0 ? ` ${formatPath(p.origin.path)}` : '';
  const note = p.note ? ` (${p.note})` : '';
  return `${where}${field}: got ${formatValue(p.value)}${note}; expected ${p.expected}`;
}

/** Problems sorted by file and line, exact repeats removed (a bad global default is reported once). */
export function uniqueProblems(problems: readonly Problem[]): Problem[] {
  const seen = new Set<string>();
  return [...problems]
    .sort(
      (a, b) =>
        a.origin.file.localeCompare(b.origin.file) ||
        (a.origin.line ?? 0) - (b.origin.line ?? 0) ||
        formatProblem(a).localeCompare(formatProblem(b)),
    )
    .filter((p) => {
      const key = formatProblem(p);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}
