/**
 * Reads the layers of configuration (global file → region files → environment overlay →
 * environment variables) into one raw model, remembering for every value the file, line and
 * field it came from, so that a problem found later can point at the exact place to fix.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type Document,
  isAlias,
  isCollection,
  isNode,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type YAMLError,
  type YAMLMap,
} from 'yaml';
import type { Origin, Path, Problem } from './problems';

export type RawObject = Record<string, unknown>;

/** The merged, not yet validated model: `{ env, global, regions: { <id>: region } }`. */
export interface RawModel {
  env: string;
  global: RawObject;
  regions: Record<string, RawObject>;
}

/** Origin of every value of the raw model, looked up by its model path. */
export class Provenance {
  private readonly origins = new Map<string, Origin>();

  set(at: Path, origin: Origin): void {
    this.origins.set(pathKey(at), origin);
  }

  /** The origin of `at`: its own, or the nearest ancestor's with the rest of the path appended. */
  lookup(at: Path): Origin {
    for (let n = at.length; n >= 0; n--) {
      const origin = this.origins.get(pathKey(at.slice(0, n)));
      if (origin) {
        const rest = at.slice(n);
        return rest.length === 0
          ? origin
          : { file: origin.file, line: origin.line, path: [...origin.path, ...rest] };
      }
    }
    return { file: 'regions/', path: at };
  }
}

const pathKey = (p: Path) => JSON.stringify(p);

export function isPlainObject(v: unknown): v is RawObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Limits every file of `regions/` must stay within, so that a hostile or broken file ends in one
 * problem line instead of a hang or a crash (documented in regions/README.md, "Limits").
 */
export const LIMITS = {
  /** Bytes per file: 50× the shipped global.yaml; parsing this much takes about a second here. */
  fileBytes: 256 * 1024,
  /** Alias expansions per file (the yaml library's `maxAliasCount`), against "billion laughs". */
  aliases: 100,
  /** Nesting of maps and lists; the deepest real path (an overlay's masking field) is 7. */
  depth: 16,
  /** Entries of one map or list; the longest real list, every country, is 249. */
  items: 1000,
  /**
   * Entries of a whole file once aliases are expanded (each `*name` counts as a copy of what it
   * names): against a small file that expands into a huge one. The shipped global.yaml has ~1,000.
   */
  expanded: 10_000,
} as const;

/** Keys refused by name anywhere: they would reach `Object.prototype` (prototype pollution). */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
]);

export const forbiddenKey = (key: string): Omit<Problem, 'origin'> => ({
  value: key,
  expected: `a key other than __proto__, constructor or prototype: ${key} is refused by name, since it could change how every object of the loader behaves`,
});

/** A parsed source: its data and a way to find the origin of any of its paths. */
export interface Source {
  readonly data: unknown;
  originOf(local: Path): Origin;
}

/**
 * Reads and parses a YAML file within LIMITS. Anything that keeps it from becoming data (not a
 * readable text file, too big, a syntax error, aliases or nesting beyond the limits) becomes a
 * problem with its line, and `undefined` is returned. Refused and repeated keys are reported and
 * the rest of the file is still returned. An empty file has `data: undefined`.
 */
export function readYamlSource(
  file: string,
  display: string,
  problems: Problem[],
): Source | undefined {
  const text = readText(file);
  if (typeof text !== 'string') {
    problems.push({
      origin: { file: display, path: [] },
      value: undefined,
      expected: text.expected,
    });
    return undefined;
  }
  return parseYamlText(text, display, problems);
}

/**
 * Parses YAML text (a file's, or an environment variable's value) within LIMITS: see
 * readYamlSource. `lines: false` leaves line numbers out of problems (a variable has none),
 * `base` is put before every path reported, and `textIfInvalid` takes text that is not valid
 * YAML as a plain string instead of reporting it.
 */
export function parseYamlText(
  text: string,
  display: string,
  problems: Problem[],
  {
    lines = true,
    base = [],
    textIfInvalid = false,
  }: { lines?: boolean; base?: Path; textIfInvalid?: boolean } = {},
): Source | undefined {
  const where = (line?: number, at: Path = []): Origin => ({
    file: display,
    ...(lines && line !== undefined ? { line } : {}),
    path: [...base, ...at],
  });
  const refuse = (value: unknown, expected: string, line?: number) => {
    problems.push({ origin: where(line), value, expected });
    return undefined;
  };
  const flowDepth = maxFlowDepth(text);
  if (flowDepth.depth > LIMITS.depth) {
    return refuse(
      `${flowDepth.depth}+ levels`,
      `maps and lists nested at most ${LIMITS.depth} deep`,
      flowDepth.line,
    );
  }
  const lineCounter = new LineCounter();
  // uniqueKeys is checked below in linear time (the library's check is quadratic).
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
  const [err, ...more] = doc.errors;
  if (err && textIfInvalid) return { data: text, originOf: (local) => where(undefined, local) };
  if (err) {
    // The first error only: later ones are mostly its echoes (and each costs a walk of the file).
    const line = errorLine(doc, lineCounter, err);
    const echoes = more.length > 0 ? `; ${more.length} more error(s) after it` : '';
    return refuse(
      text.split('\n', line)[line - 1]?.trim(),
      `valid YAML (${firstSentence(err.message)}${echoes})`,
      line,
    );
  }
  const index = indexDocument(doc, lineCounter, ({ line, path: at = [], ...p }) =>
    problems.push({ ...p, origin: where(line, at) }),
  );
  if (!index) return undefined;
  const { size, aliases, tooDeep } = expandedSize(doc);
  if (aliases > LIMITS.aliases) {
    // As the yaml library words it (its check, in toJS below, comes after the work).
    return refuse(
      undefined,
      `at most ${LIMITS.aliases} alias expansions (Excessive alias count indicates a resource exhaustion attack)`,
    );
  }
  if (tooDeep) {
    return refuse(
      `${LIMITS.depth + 1}+ levels once aliases are expanded`,
      `maps and lists nested at most ${LIMITS.depth} deep, counting what each alias (*name) names`,
    );
  }
  if (size > LIMITS.expanded) {
    return refuse(
      `more than ${LIMITS.expanded} entries once aliases are expanded`,
      `at most ${LIMITS.expanded} entries in all, counting each alias (*name) as a copy of what it names: write the entries out once, or fewer of them`,
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: LIMITS.aliases }) ?? undefined;
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    return refuse(
      undefined,
      `at most ${LIMITS.aliases} alias expansions (${firstSentence(err.message)})`,
    );
  }
  return {
    data,
    originOf: (local) => {
      const found = index.at(local);
      return { file: display, path: local, ...(lines ? found : { raw: found.raw }) };
    },
  };
}

/**
 * Map entries, list items and scalars of the document once every alias is replaced by a copy of
 * what it names, and whether that copy nests deeper than LIMITS.depth (an alias inside an alias
 * adds the depth of what it names). Counting stops just past LIMITS.expanded. Linear in the
 * document: each node is counted once and reused by every alias naming it.
 */
function expandedSize(doc: Document): { size: number; aliases: number; tooDeep: boolean } {
  type Measure = { size: number; height: number; aliases: number };
  /** Size, height (levels of maps and lists) and aliases expanded of each node counted so far. */
  const memo = new Map<unknown, Measure>();
  let tooDeep = false;
  const measure = (node: unknown, depth: number): Measure => {
    if (isAlias(node)) {
      const m = measure(node.resolve(doc), depth);
      return { ...m, aliases: m.aliases + 1 };
    }
    if (!isCollection(node)) return { size: 1, height: 0, aliases: 0 };
    if (depth >= LIMITS.depth) tooDeep = true; // and no deeper: recursion stays bounded
    if (tooDeep) return { size: 1, height: 1, aliases: 0 };
    let m = memo.get(node);
    if (!m) {
      memo.set(node, { size: 1, height: 1, aliases: 0 }); // a loop (refused earlier) counts once
      m = { size: 1, height: 1, aliases: 0 };
      for (const item of node.items as unknown[]) {
        if (tooDeep || m.size > LIMITS.expanded) break;
        const c = measure(isPair(item) ? item.value : item, depth + 1);
        m = {
          size: m.size + c.size,
          height: Math.max(m.height, c.height + 1),
          aliases: m.aliases + c.aliases,
        };
      }
      memo.set(node, m);
    }
    if (depth + m.height > LIMITS.depth) tooDeep = true;
    return m;
  };
  const { size, aliases } = measure(doc.contents, 0);
  return { size, aliases, tooDeep };
}

/** The file's text, or why it is not a readable text file within LIMITS.fileBytes. */
function readText(file: string): string | { expected: string } {
  let bytes: Buffer;
  try {
    // lstat: a link is refused, never followed, so no file outside regions/ is read or echoed.
    const stat = fs.lstatSync(file);
    if (stat.isSymbolicLink()) {
      return {
        expected:
          'a regular file, not a symbolic link (it could read a file outside regions/): copy the file here instead of linking it',
      };
    }
    if (!stat.isFile()) return { expected: 'a YAML file (this is not a regular file)' };
    if (stat.size > LIMITS.fileBytes) {
      return {
        expected: `a file of at most ${LIMITS.fileBytes} bytes (it has ${stat.size}; split it or remove repeats)`,
      };
    }
    bytes = fs.readFileSync(file);
  } catch (err) {
    return { expected: `a readable file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})` };
  }
  if (bytes.length > LIMITS.fileBytes) {
    return { expected: `a file of at most ${LIMITS.fileBytes} bytes` };
  }
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    if (!text.includes('\0')) return text;
  } catch {
    // not UTF-8: reported below
  }
  return { expected: 'UTF-8 text (this file is binary)' };
}

/**
 * Deepest nesting of flow collections (`[`, `{`) and its line, found in one pass before parsing:
 * the yaml library recurses per level and takes seconds to overflow on a deep enough file.
 */
function maxFlowDepth(text: string): { depth: number; line: number } {
  let depth = 0;
  let line = 1;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') line++;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote || c === '\n') quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1] ?? ''))) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    } else if (c === '[' || c === '{') {
      if (++depth > LIMITS.depth) return { depth, line };
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return { depth: 0, line };
}

/**
 * The line a syntax error belongs to. The library reports an unclosed `[`, `{` or quote where it
 * gave up (the next line or the end of the file); the user needs the line that opened it.
 */
function errorLine(doc: Document, lc: LineCounter, err: YAMLError): number {
  const at = err.pos[0];
  let opener: number | undefined;
  visit(doc, (_key, node) => {
    const open =
      (isCollection(node) && node.flow) ||
      (isScalar(node) && (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE'));
    const range = isNode(node) ? node.range : undefined;
    if (open && range && range[0] < at && at <= range[2] && (opener ?? -1) < range[0]) {
      opener = range[0];
    }
  });
  return lc.linePos(opener ?? at).line;
}

/** The library's message without its position and code frame, cut at its first sentence. */
function firstSentence(message: string): string {
  const first = (message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  return first.split(/\.\s/)[0]?.replace(/\.$/, '') ?? first;
}

interface Located {
  readonly line?: number;
  /** A number's text as written: `012345678901` for 12345678901. */
  readonly raw?: string;
}

/**
 * One linear walk over a parsed document: the line of every path (so `originOf` is a lookup, not
 * a search), and the checks the data must pass before it is used: LIMITS on depth and entries,
 * keys refused by name, repeated keys, non-text keys and aliases that contain themselves. Returns
 * `undefined` when the data cannot be used safely (limits, self-containing aliases); refused and
 * repeated keys are reported and left out by mergeAt.
 */
function indexDocument(
  doc: Document,
  lc: LineCounter,
  report: (p: Omit<Problem, 'origin'> & { line?: number; path?: Path }) => void,
): { at(local: Path): Located } | undefined {
  const found = new Map<string, Located>();
  const lineOf = (node: unknown) =>
    isNode(node) && node.range ? lc.linePos(node.range[0]).line : undefined;
  let usable = true;
  type Item = { node: unknown; path: Path; ancestors: readonly unknown[] };
  const stack: Item[] = [{ node: doc.contents, path: [], ancestors: [] }];
  while (stack.length > 0) {
    const { node, path: here, ancestors } = stack.pop() as Item;
    // A collection is reported at the key (or list item) that holds it.
    const line = found.get(pathKey(here))?.line ?? lineOf(node);
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (target && ancestors.includes(target)) {
        report({
          line,
          path: here,
          value: `*${node.source}`,
          expected: 'an alias outside the node it names (it would contain itself)',
        });
        usable = false;
      }
      continue;
    }
    if (isScalar(node) && typeof node.value === 'number' && typeof node.source === 'string') {
      found.set(pathKey(here), { ...found.get(pathKey(here)), raw: node.source });
    }
    if (!isCollection(node)) continue;
    if (ancestors.length >= LIMITS.depth) {
      report({
        line,
        path: here,
        value: `${ancestors.length + 1} levels`,
        expected: `maps and lists nested at most ${LIMITS.depth} deep`,
      });
      usable = false;
      continue;
    }
    if (node.items.length > LIMITS.items) {
      report({
        line,
        path: here,
        value: `${node.items.length} entries`,
        expected: `at most ${LIMITS.items} entries in one map or list`,
      });
      usable = false;
      continue;
    }
    const inside = [...ancestors, node];
    if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const at = [...here, i];
        found.set(pathKey(at), { line: lineOf(item) });
        stack.push({ node: item, path: at, ancestors: inside });
      });
      continue;
    }
    const seen = new Map<string, number | undefined>();
    for (const pair of (node as YAMLMap).items) {
      const keyLine = lineOf(pair.key);
      if (!isScalar(pair.key) || isCollection(pair.key)) {
        report({
          line: keyLine,
          path: here,
          value: undefined,
          expected: 'a plain text key (not a map or list as a key)',
        });
        usable = false;
        continue;
      }
      const k = String(pair.key.value);
      const at = [...here, k];
      if (FORBIDDEN_KEYS.has(k)) {
        report({ line: keyLine, path: at, ...forbiddenKey(k) });
        continue;
      }
      if (seen.has(k)) {
        report({
          line: keyLine,
          path: at,
          value: k,
          expected: `each key once per map (${k} is also on line ${seen.get(k)})`,
        });
        continue;
      }
      seen.set(k, keyLine);
      found.set(pathKey(at), { line: keyLine });
      stack.push({ node: pair.value, path: at, ancestors: inside });
    }
  }
  if (!usable) return undefined;
  return {
    at(local) {
      // Paths inside an alias are not in the index: the nearest indexed ancestor (the alias).
      for (let n = local.length; n > 0; n--) {
        const hit = found.get(pathKey(local.slice(0, n)));
        if (hit) return n === local.length ? hit : { line: hit.line };
      }
      return {};
    },
  };
}

/**
 * Deep-merges `value` (found at `local` in `source`) into `target[field]`, recording the origin of
 * every node written. Maps merge key by key; lists and scalars replace.
 */
export function mergeAt(
  target: RawObject,
  field: string,
  at: Path,
  value: unknown,
  source: Source,
  local: Path,
  prov: Provenance,
): void {
  if (FORBIDDEN_KEYS.has(field)) return; // reported when read
  const here = [...at, field];
  prov.set(here, source.originOf(local));
  if (isPlainObject(value)) {
    const existing = Object.hasOwn(target, field) ? target[field] : undefined;
    const child = isPlainObject(existing) ? existing : rawObject();
    target[field] = child;
    for (const [k, v] of Object.entries(value))
      mergeAt(child, k, here, v, source, [...local, k], prov);
  } else {
    target[field] = structuredClone(value);
  }
}

/** An object without a prototype: no key written into it can reach `Object.prototype`. */
export function rawObject(): RawObject {
  return Object.create(null) as RawObject;
}

/** Lists `regions/*.yaml` (region files), sorted; `global.yaml` and overlays are not regions. */
export function regionFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && !/^global\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

export const ENV_PREFIX = 'MERIDIAN__';
/** How a variable is named as the "file" of a problem: `env MERIDIAN__…`. */
export const ENV_FILE = 'env ';

/**
 * Ids that must stay text, by field name: a variable's value for them is taken as written (not
 * as YAML, which would read `011111111111` as a number and drop the zero), and the quote-it hint
 * describes them.
 */
export const TEXT_IDS: ReadonlyMap<string, { what: string; pattern: RegExp; example: string }> =
  new Map([
    ['account', { what: 'a 12-digit string', pattern: /^\d{12}$/, example: '012345678901' }],
    ...(['accountId', 'zoneId'] as const).map(
      (f) =>
        [
          f,
          {
            what: 'a string of 32 hex characters',
            pattern: /^[0-9a-f]{32}$/,
            example: '0123456789abcdef0123456789abcdef',
          },
        ] as const,
    ),
  ]);

/**
 * Turns `MERIDIAN__REGIONS__EU_WEST_1__CAPACITY=200` into a source for the model path
 * `regions.eu-west-1.capacity`. Segments match existing keys ignoring case, `-` and `_`;
 * unknown segments become camelCase keys (so a typo surfaces as an unknown-key problem).
 */
export function envVarSources(
  environ: NodeJS.ProcessEnv,
  model: RawModel,
  problems: Problem[],
): { at: Path; value: unknown; source: Source }[] {
  const out: { at: Path; value: unknown; source: Source }[] = [];
  for (const name of Object.keys(environ).sort()) {
    if (!name.startsWith(ENV_PREFIX)) continue;
    const raw = environ[name] ?? '';
    const file = `${ENV_FILE}${name}`;
    const segments = name.slice(ENV_PREFIX.length).split('__').filter(Boolean);
    const [head, ...rest] = segments;
    const root = head?.toLowerCase();
    // A region needs a field too: `MERIDIAN__REGIONS__EU_WEST_1=x` would otherwise do nothing.
    if ((root !== 'global' && root !== 'regions') || rest.length < (root === 'regions' ? 2 : 1)) {
      problems.push({
        origin: { file, path: [] },
        value: name,
        expected: `${ENV_PREFIX}GLOBAL__<FIELD>[__<FIELD>...] or ${ENV_PREFIX}REGIONS__<REGION_ID>__<FIELD>[...]`,
      });
      continue;
    }
    let node: unknown = model[root];
    const at: (string | number)[] = [root];
    let ok = true;
    for (const [i, seg] of rest.entries()) {
      const existing = isPlainObject(node)
        ? Object.keys(node).find((k) => normalise(k) === normalise(seg))
        : undefined;
      if (!existing && root === 'regions' && i === 0) {
        problems.push({
          origin: { file, path: [] },
          value: seg,
          expected: `a region that has a file in regions/ (${Object.keys(model.regions).join(', ')})`,
        });
        ok = false;
        break;
      }
      const k = existing ?? camelCase(seg);
      // The key as it would be written, not its normalised form: PRO_TO_TYPE is not prototype.
      if (FORBIDDEN_KEYS.has(k)) {
        problems.push({ origin: { file, path: at }, ...forbiddenKey(seg) });
        ok = false;
        break;
      }
      at.push(k);
      node = isPlainObject(node) ? node[k] : undefined;
    }
    if (!ok) continue;
    const parsed =
      typeof node === 'string' || TEXT_IDS.has(String(at[at.length - 1]))
        ? { data: raw }
        : parseEnvValue(raw, file, at, problems);
    if (!parsed) continue;
    const value = parsed.data;
    const origin = { file, path: at, ...(typeof value === 'number' ? { raw } : {}) };
    out.push({ at, value, source: { data: value, originOf: () => origin } });
  }
  return out;
}

function normalise(s: string): string {
  return s.toLowerCase().replace(/[-_]/g, '');
}

function camelCase(seg: string): string {
  return seg.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Environment values are YAML flow values: `30`, `true`, `[a, b]`, `{x: 1}`, or plain text when
 * they are not valid YAML. They are held to the LIMITS of a file (aliases, nesting, entries,
 * refused keys): a problem naming the variable, and `undefined`, when they break one.
 */
function parseEnvValue(
  raw: string,
  file: string,
  at: Path,
  problems: Problem[],
): { data: unknown } | undefined {
  const before = problems.length;
  const source = parseYamlText(raw, file, problems, {
    lines: false,
    base: at,
    textIfInvalid: true,
  });
  return source && problems.length === before ? { data: source.data } : undefined;
}
