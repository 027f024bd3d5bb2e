/**
 * Reads the layers of configuration (global file → region files → environment overlay →
 * environment variables) into one raw model, remembering for every value the file, line and
 * field it came from, so that a problem found later can point at the exact place to fix.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Document, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
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
    this.origins.set(key(at), origin);
  }

  /** The origin of `at`: its own, or the nearest ancestor's with the rest of the path appended. */
  lookup(at: Path): Origin {
    for (let n = at.length; n >= 0; n--) {
      const origin = this.origins.get(key(at.slice(0, n)));
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

const key = (p: Path) => JSON.stringify(p);

export function isPlainObject(v: unknown): v is RawObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A parsed source: its data and a way to find the origin of any of its paths. */
export interface Source {
  readonly data: unknown;
  originOf(local: Path): Origin;
}

/** Parses a YAML file; syntax errors become problems with their line. */
export function readYamlSource(
  file: string,
  display: string,
  problems: Problem[],
): Source | undefined {
  const lineCounter = new LineCounter();
  const text = fs.readFileSync(file, 'utf8');
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const lines = text.split('\n');
    for (const err of doc.errors) {
      const line = err.linePos?.[0]?.line;
      problems.push({
        origin: { file: display, line, path: [] },
        value: line === undefined ? undefined : lines[line - 1]?.trim(),
        expected: `valid YAML (${(err.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')})`,
      });
    }
    return undefined;
  }
  return {
    data: doc.toJS() ?? {},
    originOf: (local) => ({ file: display, line: lineOf(doc, lineCounter, local), path: local }),
  };
}

function lineOf(doc: Document, lc: LineCounter, local: Path): number | undefined {
  if (local.length === 0) return undefined;
  const parent = local.length === 1 ? doc.contents : doc.getIn(local.slice(0, -1), true);
  const last = local[local.length - 1];
  let node: unknown;
  if (isMap(parent)) {
    node = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(last))?.key;
  } else if (isSeq(parent)) {
    node = parent.items[Number(last)];
  }
  return isNode(node) && node.range ? lc.linePos(node.range[0]).line : undefined;
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
  const here = [...at, field];
  prov.set(here, source.originOf(local));
  if (isPlainObject(value)) {
    if (!isPlainObject(target[field])) target[field] = {};
    const child = target[field] as RawObject;
    for (const [k, v] of Object.entries(value))
      mergeAt(child, k, here, v, source, [...local, k], prov);
  } else {
    target[field] = structuredClone(value);
  }
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
    const file = `env ${name}`;
    const segments = name.slice(ENV_PREFIX.length).split('__').filter(Boolean);
    const [head, ...rest] = segments;
    const root = head?.toLowerCase();
    if ((root !== 'global' && root !== 'regions') || rest.length === 0) {
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
      at.push(k);
      node = isPlainObject(node) ? node[k] : undefined;
    }
    if (!ok) continue;
    const value = typeof node === 'string' ? raw : parseScalar(raw);
    out.push({ at, value, source: { data: value, originOf: () => ({ file, path: at }) } });
  }
  return out;
}

function normalise(s: string): string {
  return s.toLowerCase().replace(/[-_]/g, '');
}

function camelCase(seg: string): string {
  return seg.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Environment values are YAML flow values: `30`, `true`, `[a, b]`, `{x: 1}` or plain text. */
function parseScalar(raw: string): unknown {
  const doc = parseDocument(raw);
  return doc.errors.length > 0 ? raw : doc.toJS();
}
