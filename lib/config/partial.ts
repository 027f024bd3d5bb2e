/**
 * Rules run on whatever validated. A part (the global file, a region) that failed its schema is
 * handed to the rules as the fields that did parse; reading a field that failed throws `Unparsed`,
 * and `runRule` runs the rule again without that part. So one run reports the schema problems and
 * every rule problem of the parts that are fine, and no knock-on problem of the part that is not.
 */
import type { z } from 'zod';
import type { Finding, Rule, RuleInput } from './rules';
import type { GlobalConfig, RegionConfig } from './schema';
import { isPlainObject } from './sources';

/** Thrown when a rule reads a field of `region` (or of the global file) that failed its schema. */
export class Unparsed extends Error {
  constructor(readonly region?: string) {
    super(`a rule read a field that failed its schema (${region ?? 'global'})`);
  }
}

const FAILED = Symbol('failed');

/**
 * `schema` applied field by field where the whole does not parse: object fields recurse, any other
 * field that fails is left out and reading it throws `Unparsed(region)`. FAILED when `raw` is not
 * even a map.
 */
function parseFields(schema: z.ZodType, raw: unknown, region?: string): unknown {
  const whole = schema.safeParse(raw);
  if (whole.success) return whole.data;
  let node = schema as unknown as { def: ZodDef };
  let input = raw;
  for (;;) {
    const { type, innerType } = node.def;
    if (type === 'prefault' && input === undefined) input = {};
    if (!innerType || !['prefault', 'default', 'optional', 'nullable'].includes(type)) break;
    node = innerType;
  }
  const shape = node.def.type === 'object' ? node.def.shape : undefined;
  if (!shape || !isPlainObject(input)) return FAILED;
  const out: Record<string, unknown> = {};
  const failed = new Set<string>();
  for (const [k, s] of Object.entries(shape)) {
    const v = parseFields(s as z.ZodType, input[k], region);
    if (v === FAILED) failed.add(k);
    else if (v !== undefined) out[k] = v;
  }
  if (failed.size === 0) return out;
  return new Proxy(out, {
    get(target, p, receiver) {
      if (typeof p === 'string' && failed.has(p)) throw new Unparsed(region);
      return Reflect.get(target, p, receiver);
    },
  });
}

interface ZodDef {
  readonly type: string;
  readonly innerType?: { def: ZodDef };
  readonly shape?: Record<string, unknown>;
}

/** The global file's fields that parsed (see parseFields); undefined when it is no map. */
export function partialGlobal(schema: z.ZodType, raw: unknown): GlobalConfig | undefined {
  const v = parseFields(schema, raw);
  return v === FAILED ? undefined : (v as GlobalConfig);
}

/** A region's fields that parsed (see parseFields); undefined when it is no map. */
export function partialRegion(
  schema: z.ZodType,
  raw: unknown,
  key: string,
): RegionConfig | undefined {
  const v = parseFields(schema, raw, key);
  return v === FAILED ? undefined : (v as RegionConfig);
}

/**
 * Runs `rule`; whenever it reads a field that failed, runs it again without that part. A region
 * left out counts as unparsed for its jurisdiction (or, when that is what failed, as unreadable),
 * so membership rules skip instead of reporting a false gap.
 */
export function runRule(rule: Rule, input: RuleInput): Finding[] {
  let global = input.global;
  const regions = new Map(input.regions);
  const unparsedJurisdictions = new Set(input.unparsedJurisdictions);
  let someRegionUnreadable = input.someRegionUnreadable;
  for (;;) {
    try {
      return rule({ ...input, global, regions, unparsedJurisdictions, someRegionUnreadable });
    } catch (err) {
      if (!(err instanceof Unparsed)) throw err;
      if (err.region === undefined) {
        if (!global) throw err;
        global = undefined;
        continue;
      }
      const left = regions.get(err.region);
      if (!left || !regions.delete(err.region)) throw err;
      try {
        unparsedJurisdictions.add(left.jurisdiction);
      } catch {
        someRegionUnreadable = true;
      }
    }
  }
}
