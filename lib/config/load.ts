/**
 * `regions/` → validated `MeridianConfig` (+ its residency plan), before any construct exists.
 *
 * Precedence, lowest first: regions/global.yaml → regions/<region>.yaml → regions/overlays/<env>.yaml
 * → MERIDIAN__* environment variables. Within each layer a region's own `settings` beat the
 * global `defaults`; a later layer beats an earlier one. Every problem is collected and thrown
 * together as one ConfigError.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { z } from 'zod';
import {
  computeResidencyPlan,
  type ResidencyInput,
  type ResidencyPlan,
} from '../../lambda/shared/residency-plan';
import { partialGlobal, partialRegion, runRule } from './partial';
import { ConfigError, type Origin, type Path, type Problem, uniqueProblems } from './problems';
import { RULES } from './rules';
import { type GlobalConfig, globalSchema, type RegionConfig, regionSchema } from './schema';
import {
  ENV_FILE,
  envVarSources,
  FORBIDDEN_KEYS,
  forbiddenKey,
  isPlainObject,
  mergeAt,
  Provenance,
  type RawModel,
  type RawObject,
  rawObject,
  readYamlSource,
  regionFiles,
  type Source,
  TEXT_IDS,
} from './sources';

export const DEFAULT_ENV = 'prod';

export interface LoadOptions {
  /** @default - `regions/` in the current directory */
  readonly dir?: string;
  /** Environment name; any env other than `prod` needs `regions/overlays/<env>.yaml`. @default 'prod' */
  readonly env?: string;
  /** Where MERIDIAN__* variables are read from. @default process.env */
  readonly environ?: NodeJS.ProcessEnv;
}

export interface MeridianConfig {
  readonly env: string;
  readonly global: GlobalConfig;
  /** Every region, sorted by id. */
  readonly regions: readonly RegionConfig[];
  readonly plan: ResidencyPlan;
}

/** Loads and validates `regions/`; throws ConfigError listing every problem. */
export function loadConfig(options: LoadOptions = {}): MeridianConfig {
  const dir = path.resolve(options.dir ?? 'regions');
  const env = options.env ?? DEFAULT_ENV;
  const shown = (file: string) => path.join(path.basename(dir), path.relative(dir, file));
  const problems: Problem[] = [];
  const prov = new Provenance();
  const model: RawModel = { env, global: rawObject(), regions: rawObject() as RawModel['regions'] };
  const files = new Map<string, string>();
  /** Names of layers 2-3 that were applied, for a residency-widening problem. */
  const layers: string[] = [];

  if (!/^[a-z][a-z0-9-]{0,15}$/.test(env)) {
    throw new ConfigError([
      {
        origin: { file: '-c env', path: [] },
        value: env,
        expected: 'lower-case letters, digits and dashes (≤16)',
      },
    ]);
  }

  // Layer 1: global file and region files.
  const globalFile = ['global.yaml', 'global.yml']
    .map((f) => path.join(dir, f))
    .find(fs.existsSync);
  if (!globalFile) {
    throw new ConfigError([
      {
        origin: { file: shown(path.join(dir, 'global.yaml')), path: [] },
        value: undefined,
        expected: 'the global settings file (see regions/README.md)',
      },
    ]);
  }
  const globalSource = readYamlSource(globalFile, shown(globalFile), problems);
  // An unreadable global file is reported once, not again as every field it lacks.
  const globalReadable = isPlainObject(globalSource?.data);
  if (globalSource) {
    if (!isPlainObject(globalSource.data)) {
      problems.push({
        origin: globalSource.originOf([]),
        value: globalSource.data,
        expected: `a YAML map of settings${globalSource.data === undefined ? ' (the file is empty)' : ''}`,
      });
    } else {
      mergeLayer(model, prov, { global: globalSource.data }, globalSource, (p) => p.slice(1));
    }
  }

  let someRegionUnreadable = false;
  for (const file of regionFiles(dir)) {
    const regionKey = path.basename(file).replace(/\.ya?ml$/, '');
    if (FORBIDDEN_KEYS.has(regionKey)) {
      problems.push({ origin: { file: shown(file), path: [] }, ...forbiddenKey(regionKey) });
      someRegionUnreadable = true;
      continue;
    }
    const src = readYamlSource(file, shown(file), problems);
    if (!src || !isPlainObject(src.data)) {
      if (src) {
        problems.push({
          origin: src.originOf([]),
          value: src.data,
          expected: `a YAML map describing one region${src.data === undefined ? ' (the file is empty)' : ''}`,
        });
      }
      someRegionUnreadable = true;
      continue;
    }
    if (Object.hasOwn(model.regions, regionKey)) {
      problems.push({
        origin: src.originOf([]),
        value: regionKey,
        expected: `one file per region: ${regionKey} is defined twice`,
      });
      continue;
    }
    prov.set(['regions', regionKey], src.originOf([]));
    files.set(regionKey, shown(file));
    model.regions[regionKey] = rawObject();
    // The region's settings start from the global defaults of this layer.
    const defaults = isPlainObject(globalSource?.data) ? globalSource.data.defaults : undefined;
    if (globalSource && defaults !== undefined) {
      mergeAt(
        model.regions[regionKey],
        'settings',
        ['regions', regionKey],
        defaults,
        globalSource,
        ['defaults'],
        prov,
      );
    }
    for (const [k, v] of Object.entries(src.data)) {
      mergeAt(model.regions[regionKey], k, ['regions', regionKey], v, src, [k], prov);
    }
  }

  // What layer 1 alone decides, to check below that layers 2-3 widen no residency.
  const layer1 = structuredClone({ global: model.global, regions: model.regions });

  // Layer 2: the environment overlay.
  const overlayFile = ['yaml', 'yml']
    .map((e) => path.join(dir, 'overlays', `${env}.${e}`))
    .find(fs.existsSync);
  if (overlayFile) {
    const src = readYamlSource(overlayFile, shown(overlayFile), problems);
    if (src) applyOverlay(model, prov, src, problems);
    layers.push(shown(overlayFile));
  } else if (env !== DEFAULT_ENV) {
    const known = listDir(path.join(dir, 'overlays')).map((f) => f.replace(/\.ya?ml$/, ''));
    problems.push({
      origin: { file: '-c env', path: [] },
      value: env,
      expected: `an environment with an overlay file ${shown(path.join(dir, 'overlays', `${env}.yaml`))} (existing: ${known.join(', ') || 'none'}), or ${DEFAULT_ENV}`,
    });
  }

  // Layer 3: environment variables.
  for (const { at, value, source } of envVarSources(
    options.environ ?? process.env,
    model,
    problems,
  )) {
    const [root, ...rest] = at as string[];
    const part = withoutResidency({ [root as string]: nest(rest, value) }, source, problems);
    mergeLayer(model, prov, part, source, (p) => p);
    if (!layers.includes('env MERIDIAN__*')) layers.push('env MERIDIAN__*');
  }

  // Validation: schema per part, then cross-field rules on whatever parsed (see partial.ts).
  const global = globalReadable
    ? parsePart(globalSchema, model.global, ['global'], prov, problems)
    : undefined;
  const regions = new Map<string, RegionConfig>();
  const partialRegions = new Map<string, RegionConfig>();
  for (const [key, raw] of Object.entries(model.regions)) {
    const r = parsePart(regionSchema, raw, ['regions', key], prov, problems);
    if (r) regions.set(key, r);
    const some = r ?? partialRegion(regionSchema, raw, key);
    if (some) partialRegions.set(key, some);
  }
  const ruleInput = {
    global: global ?? (globalReadable ? partialGlobal(globalSchema, model.global) : undefined),
    regions: partialRegions,
    someRegionUnreadable,
    files,
  };
  for (const rule of RULES) {
    for (const f of runRule(rule, ruleInput)) {
      problems.push({ origin: prov.lookup(f.at), value: f.value, expected: f.expected });
    }
  }
  if (Object.keys(model.regions).length === 0) {
    problems.push({
      origin: { file: shown(dir), path: [] },
      value: [],
      expected: 'at least one region file, e.g. regions/eu-west-1.yaml',
    });
  }
  if (problems.length > 0 || !global) throw new ConfigError(uniqueProblems(problems));

  const sorted = [...regions.values()].sort((a, b) => a.id.localeCompare(b.id));
  const plan = computeResidencyPlan(residencyInput(global, sorted));
  if (layers.length > 0) {
    const base = computeResidencyPlan(layer1Input(layer1, global, sorted));
    const origin = { file: layers.join(' + '), path: [] };
    const widened = residencyPlanWidening(base, plan).map((w) => ({ origin, ...w }));
    if (widened.length > 0) throw new ConfigError(uniqueProblems(widened));
  }
  return { env, global, regions: sorted, plan };
}

function residencyInput(global: GlobalConfig, regions: readonly RegionConfig[]): ResidencyInput {
  return {
    dataClasses: global.dataClasses,
    jurisdictions: global.jurisdictions,
    regions: regions.map((r) => ({ ...r, countries: r.residency.countries })),
  };
}

/**
 * The residency input of layer 1 (global.yaml and the region files) alone: each field the plan
 * reads, parsed from layer 1; where layer 1 leaves one unusable (a later layer completes it),
 * the final value.
 */
function layer1Input(
  layer1: { global: RawObject; regions: Record<string, RawObject> },
  global: GlobalConfig,
  regions: readonly RegionConfig[],
): ResidencyInput {
  const field = <T>(schema: z.ZodType<T>, raw: unknown, fallback: T): T => {
    const r = schema.safeParse(raw);
    return r.success ? r.data : fallback;
  };
  const g = globalSchema.shape;
  const rs = regionSchema.shape;
  return residencyInput(
    {
      ...global,
      dataClasses: field(g.dataClasses, layer1.global.dataClasses, global.dataClasses),
      jurisdictions: field(g.jurisdictions, layer1.global.jurisdictions, global.jurisdictions),
    },
    regions.map((r) => {
      const raw = Object.hasOwn(layer1.regions, r.id) ? layer1.regions[r.id] : undefined;
      if (!raw) return r;
      return {
        ...r,
        jurisdiction: field(rs.jurisdiction, raw.jurisdiction, r.jurisdiction),
        tier: field(rs.tier, raw.tier, r.tier),
        failoverPriority: field(rs.failoverPriority, raw.failoverPriority, r.failoverPriority),
        capacity: field(rs.capacity, raw.capacity, r.capacity),
        residency: field(rs.residency, raw.residency, r.residency),
      };
    }),
  );
}

/**
 * What `final` allows that `base` does not: a replication edge (class, from, to, mode) or a
 * region in a jurisdiction's cell. The overlay and the variables may not widen residency by any
 * field, listed in RESIDENCY_FIELDS or not.
 */
export function residencyPlanWidening(
  base: ResidencyPlan,
  final: ResidencyPlan,
): Omit<Problem, 'origin'>[] {
  const key = (e: ResidencyPlan['edges'][number]) =>
    `${e.dataClass} ${e.from} → ${e.to} (${e.mode})`;
  const baseEdges = new Set(base.edges.map(key));
  const baseCells = new Map(base.cells.map((c) => [c.jurisdiction, new Set(c.regions)]));
  const expected = (what: string) =>
    `no ${what} that regions/global.yaml and the region files alone do not allow: ${RESIDENCY_FIX}`;
  return [
    ...final.edges
      .map(key)
      .filter((k) => !baseEdges.has(k))
      .map((k) => ({ value: `replication edge ${k}`, expected: expected('replication edge') })),
    ...final.cells.flatMap((c) =>
      c.regions
        .filter((r) => !baseCells.get(c.jurisdiction)?.has(r))
        .map((r) => ({
          value: `${r} in the ${c.jurisdiction} cell`,
          expected: expected('cell member'),
        })),
    ),
  ];
}

/**
 * Merges one layer's part `{ global?, regions? }` into the model; `global.defaults` is spread into
 * every region's settings too, so that a later layer's default beats an earlier layer's setting.
 * `local` maps a path of the part to the path inside its source file.
 */
function mergeLayer(
  model: RawModel,
  prov: Provenance,
  part: { global?: unknown; regions?: unknown },
  src: Source,
  local: (p: Path) => Path,
): void {
  if (isPlainObject(part.global)) {
    for (const [k, v] of Object.entries(part.global)) {
      mergeAt(model.global, k, ['global'], v, src, local(['global', k]), prov);
    }
    if (part.global.defaults !== undefined) {
      for (const [key, region] of Object.entries(model.regions)) {
        mergeAt(
          region,
          'settings',
          ['regions', key],
          part.global.defaults,
          src,
          local(['global', 'defaults']),
          prov,
        );
      }
    }
  }
  if (isPlainObject(part.regions)) {
    for (const [key, v] of Object.entries(part.regions)) {
      const region = Object.hasOwn(model.regions, key) ? model.regions[key] : undefined;
      if (!region || !isPlainObject(v)) continue;
      for (const [k, child] of Object.entries(v)) {
        mergeAt(region, k, ['regions', key], child, src, local(['regions', key, k]), prov);
      }
    }
  }
}

function applyOverlay(model: RawModel, prov: Provenance, src: Source, problems: Problem[]): void {
  const data = src.data ?? {}; // an empty overlay changes nothing
  if (!isPlainObject(data)) {
    problems.push({
      origin: src.originOf([]),
      value: data,
      expected: 'a map with `global:` and/or `regions:`',
    });
    return;
  }
  for (const k of Object.keys(data)) {
    if (k !== 'global' && k !== 'regions') {
      problems.push({
        origin: src.originOf([k]),
        value: k,
        expected: '`global` or `regions`: an overlay overrides those files',
      });
    }
  }
  for (const key of Object.keys(isPlainObject(data.regions) ? data.regions : {})) {
    if (!Object.hasOwn(model.regions, key)) {
      problems.push({
        origin: src.originOf(['regions', key]),
        value: key,
        expected: `a region that has a file in regions/ (${Object.keys(model.regions).join(', ')})`,
      });
    }
  }
  mergeLayer(model, prov, withoutResidency(data, src, problems), src, (p) => p);
}

/**
 * Fields that decide the residency plan's edges and cells (computeResidencyPlan): which data
 * classes exist and how far they may go, the jurisdictions' rules, and which jurisdiction (and
 * countries) a region belongs to. Only regions/global.yaml and the region files set them: an
 * overlay or a variable that could would widen the plan without a reviewed change of those files.
 * Not here: `tier`, `failoverPriority` and `capacity` also reach the plan, but only order a cell
 * (which member leads) and size it; they move no data across a border. `residencyPlanWidening`
 * checks the whole plan in any case.
 */
const RESIDENCY_FIELDS = {
  global: ['dataClasses', 'jurisdictions'],
  region: ['jurisdiction', 'residency'],
} as const;

export const RESIDENCY_FIX =
  'residency is decided in regions/global.yaml and the region files; move this change there';

/**
 * `part` (an overlay, or one variable as `{ global | regions: … }`) without RESIDENCY_FIELDS,
 * each one it sets reported as a problem at its own line (or variable).
 */
function withoutResidency(part: RawObject, src: Source, problems: Problem[]): RawObject {
  const refuse = (p: Path, value: unknown) =>
    problems.push({
      origin: src.originOf(p),
      value,
      expected: `no change of the residency plan here: ${RESIDENCY_FIX}`,
    });
  const strip = (obj: RawObject, fields: readonly string[], at: Path): RawObject => {
    const kept = rawObject();
    for (const [k, v] of Object.entries(obj)) {
      if (fields.includes(k)) refuse([...at, k], v);
      else kept[k] = v;
    }
    return kept;
  };
  const out = rawObject();
  Object.assign(out, part);
  if (isPlainObject(part.global))
    out.global = strip(part.global, RESIDENCY_FIELDS.global, ['global']);
  if (isPlainObject(part.regions)) {
    const regions = rawObject();
    for (const [key, r] of Object.entries(part.regions)) {
      regions[key] = isPlainObject(r) ? strip(r, RESIDENCY_FIELDS.region, ['regions', key]) : r;
    }
    out.regions = regions;
  }
  return out;
}

function nest(pathParts: readonly string[], value: unknown): RawObject {
  return pathParts.reduceRight<unknown>((acc, k) => {
    const o = rawObject();
    o[k] = acc;
    return o;
  }, value) as RawObject;
}

/** The names in a folder; none when it is missing or not a folder. */
function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

// ---- zod issues → problems ----------------------------------------------------------------

function parsePart<S extends z.ZodType>(
  schema: S,
  data: unknown,
  base: Path,
  prov: Provenance,
  problems: Problem[],
): z.infer<S> | undefined {
  const result = schema.safeParse(data, { reportInput: true });
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    const at = [...base, ...(issue.path as (string | number)[])];
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(schema, issue.path as (string | number)[]);
      for (const k of issue.keys) {
        problems.push({
          origin: prov.lookup([...at, k]),
          value: isPlainObject(issue.input) ? issue.input[k] : undefined,
          expected: `no field named ${k} here: remove it or fix its spelling${known.length ? ` (fields: ${known.join(', ')})` : ''}`,
        });
      }
      continue;
    }
    const origin = prov.lookup(at);
    if (
      issue.code === 'invalid_type' &&
      issue.expected === 'string' &&
      typeof issue.input === 'number'
    ) {
      problems.push({ origin, ...quoteIt(at, issue.input, origin) });
      continue;
    }
    problems.push({ origin, value: issue.input, expected: describeIssue(issue) });
  }
  return undefined;
}

/**
 * A number where text is expected: YAML read an unquoted id such as `012345678901` as a number
 * (dropping its leading zero); say so and show the quoted form as written, in YAML for a file and
 * in shell quoting for a variable. When even the quoted form would not be a valid id (`0o17`),
 * say what one looks like instead of suggesting it.
 */
function quoteIt(at: Path, n: number, origin: Origin): Omit<Problem, 'origin'> {
  const field = at[at.length - 1];
  const written = origin.raw ?? String(n);
  const lost = /^[-+]?0\d/.test(written);
  const id = typeof field === 'string' ? TEXT_IDS.get(field) : undefined;
  const variable = origin.file.startsWith(ENV_FILE)
    ? origin.file.slice(ENV_FILE.length)
    : undefined;
  const quoted = (text: string) =>
    variable
      ? `${variable}='"${text}"'`
      : typeof field === 'string'
        ? `${field}: "${text}"`
        : `"${text}"`;
  const expected =
    id && !id.pattern.test(written)
      ? `${id.what} in quotes, e.g. ${quoted(id.example)} (${written} as written is not one)`
      : `${id?.what ?? 'a string'}: write ${quoted(written)}`;
  return {
    value: n,
    note: `a ${variable ? 'YAML number in the variable' : 'YAML number'}${lost ? '; leading zeros are lost' : ''}`,
    expected,
  };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const custom = !/^(Invalid|Too (small|big))/.test(issue.message);
  if (custom) return issue.message;
  switch (issue.code) {
    case 'invalid_type': {
      const what = `${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`;
      return issue.input === undefined ? `${what} (required)` : what;
    }
    case 'too_small':
      return issue.origin === 'array'
        ? `at least ${issue.minimum} item(s)`
        : issue.origin === 'string'
          ? `at least ${issue.minimum} character(s)`
          : `${issue.origin === 'int' || issue.origin === 'number' ? 'a number ' : ''}${issue.inclusive ? '≥' : '>'} ${issue.minimum}`;
    case 'too_big':
      return issue.origin === 'array'
        ? `at most ${issue.maximum} item(s)`
        : issue.origin === 'string'
          ? `at most ${issue.maximum} character(s)`
          : `${issue.origin === 'int' || issue.origin === 'number' ? 'a number ' : ''}${issue.inclusive ? '≤' : '<'} ${issue.maximum}`;
    case 'invalid_value':
      return `one of ${issue.values.map((v) => String(v)).join(', ')}`;
    default:
      return issue.message;
  }
}

/** Field names the schema accepts at `at`, for "did you mean" style hints. */
function knownKeys(schema: z.ZodType, at: readonly (string | number)[]): string[] {
  let node: unknown = schema;
  for (const seg of [...at, undefined]) {
    // unwrap wrappers
    for (;;) {
      const def = (node as { def?: { type?: string; innerType?: unknown } }).def;
      if (def && ['default', 'prefault', 'optional', 'nullable'].includes(def.type ?? ''))
        node = def.innerType;
      else break;
    }
    if (seg === undefined) break;
    const def = (
      node as {
        def?: {
          type?: string;
          shape?: Record<string, unknown>;
          valueType?: unknown;
          element?: unknown;
        };
      }
    ).def;
    if (def?.type === 'object') node = def.shape?.[String(seg)];
    else if (def?.type === 'record') node = def.valueType;
    else if (def?.type === 'array') node = def.element;
    else return [];
  }
  const def = (node as { def?: { type?: string; shape?: Record<string, unknown> } }).def;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}
