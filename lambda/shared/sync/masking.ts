/**
 * Masked projections, per target jurisdiction, from rules that are data (regions/ → plan). The
 * projection is an allowlist: a field leaves only if a rule keeps, pseudonymises or encrypts it;
 * everything else is erased. Rules compile once per (class, target jurisdiction).
 */
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { entityTokenInput } from './lineage';
import type { MaskAction, MaskingRules } from './rules';

/** An envelope data key: the plaintext encrypts; `wrapped` (KMS ciphertext) travels with values. */
export interface DataKey {
  readonly plaintext: Buffer;
  /** Base64 KMS ciphertext of the key; only the home region's KMS key can unwrap it. */
  readonly wrapped: string;
}

export interface MaskKeys {
  /** HMAC key of the home jurisdiction (Secrets Manager, never replicated out of it). */
  readonly pseudonymKey: Buffer;
  /** Needed only when some rule encrypts. */
  readonly dataKey?: DataKey;
}

interface RuleNode {
  action?: MaskAction;
  readonly children: Map<string, RuleNode>;
  star?: RuleNode;
}

const node = (): RuleNode => ({ children: new Map() });

/** Compiles field rules (base, then the target jurisdiction's overrides) into a tree. */
export function compileRules(rules: MaskingRules, targetJurisdiction: string): RuleNode {
  const root = node();
  const merged = { ...rules.fields, ...(rules.jurisdictions[targetJurisdiction] ?? {}) };
  for (const [path, action] of Object.entries(merged)) {
    let at = root;
    for (const part of path.split('.')) {
      if (part === '*') at = at.star ??= node();
      else {
        let next = at.children.get(part);
        if (!next) {
          next = node();
          at.children.set(part, next);
        }
        at = next;
      }
    }
    at.action = action;
  }
  return root;
}

/** Compiled trees, per rule set and target jurisdiction: masking and its check on receipt share them. */
const compiledTrees = new WeakMap<MaskingRules, Map<string, RuleNode>>();
/** A class without rules: nothing leaves (fail closed), and nothing masked may arrive. */
const NO_RULES: RuleNode = node();

/** The compiled tree of `rules` for `targetJurisdiction`, compiled once. */
export function compiledRules(
  rules: MaskingRules | undefined,
  targetJurisdiction: string,
): RuleNode {
  if (!rules) return NO_RULES;
  let byTarget = compiledTrees.get(rules);
  if (!byTarget) {
    byTarget = new Map();
    compiledTrees.set(rules, byTarget);
  }
  let tree = byTarget.get(targetJurisdiction);
  if (!tree) {
    tree = compileRules(rules, targetJurisdiction);
    byTarget.set(targetJurisdiction, tree);
  }
  return tree;
}

/** `pz_` + 128 bits of HMAC-SHA256: the same value always gives the same token under one key. */
export function pseudonymise(key: Buffer, value: unknown): string {
  return `pz_${createHmac('sha256', key)
    .update(typeof value === 'string' ? value : JSON.stringify(value))
    .digest('base64url')
    .slice(0, 22)}`;
}

/** An entity's lineage token (lineage.ts): its `type:key` pseudonymised under the home's key. */
export const entityToken = (pseudonymKey: Buffer, entityType: string, entityKey: string) =>
  pseudonymise(pseudonymKey, entityTokenInput(entityType, entityKey));

/** `enc:v1:<wrapped key>:<iv>:<ciphertext>:<tag>`, AES-256-GCM. */
export function encryptValue(key: DataKey, value: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.plaintext, iv);
  const ct = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return `enc:v1:${key.wrapped}:${iv.toString('base64')}:${ct.toString('base64')}:${cipher.getAuthTag().toString('base64')}`;
}

export interface MaskResult {
  readonly payload: Record<string, unknown>;
  /** Paths that did not leave as they were (erased, pseudonymised or encrypted). */
  readonly maskedFields: string[];
}

export class MaskingKeyError extends Error {
  override readonly name = 'MaskingKeyError';
}

/** A rule with no action of its own over an object: its fields have rules of their own. */
const descends = (rule: RuleNode, value: unknown): value is Record<string, unknown> =>
  rule.action === undefined && value !== null && typeof value === 'object' && !Array.isArray(value);

/** Applies a compiled rule tree to a payload. */
export function applyRules(
  rules: RuleNode,
  payload: Readonly<Record<string, unknown>>,
  keys: MaskKeys,
): MaskResult {
  const maskedFields: string[] = [];
  const walk = (obj: Readonly<Record<string, unknown>>, at: RuleNode, prefix: string) => {
    const out: Record<string, unknown> = {};
    for (const [k, value] of Object.entries(obj)) {
      const path = prefix ? `${prefix}.${k}` : k;
      const rule = at.children.get(k) ?? at.star;
      if (rule?.action === 'keep') out[k] = value;
      else if (rule?.action === 'pseudonymise') {
        out[k] = pseudonymise(keys.pseudonymKey, value);
        maskedFields.push(path);
      } else if (rule?.action === 'encrypt') {
        if (!keys.dataKey) throw new MaskingKeyError(`${path}: encrypt needs a data key`);
        out[k] = encryptValue(keys.dataKey, value);
        maskedFields.push(path);
      } else if (rule && descends(rule, value)) {
        out[k] = walk(value, rule, path);
      } else maskedFields.push(path);
    }
    return out;
  };
  return { payload: walk(payload, rules, ''), maskedFields };
}

/** The shapes masking leaves: a pseudonym token, and an AES-GCM envelope (see above). */
const PSEUDONYM = /^pz_[A-Za-z0-9_-]{22}$/;
const CIPHERTEXT = /^enc:v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]*:[A-Za-z0-9+/=]+$/;

/**
 * Checks a payload that arrived as a masked projection against the rules that made it (the
 * receiver compiles the same rules from the same plan): every field the rules pseudonymise is a
 * pseudonym token, every field they encrypt a ciphertext envelope, every field they do not keep is
 * absent. Returns the first fault, naming the path and the rule, never the value.
 */
export function maskingFault(
  rules: MaskingRules | undefined,
  targetJurisdiction: string,
  payload: Readonly<Record<string, unknown>>,
): string | undefined {
  const tree = compiledRules(rules, targetJurisdiction);
  const walk = (
    obj: Readonly<Record<string, unknown>>,
    at: RuleNode,
    prefix: string,
  ): string | undefined => {
    for (const [k, value] of Object.entries(obj)) {
      const path = prefix ? `${prefix}.${k}` : k;
      const rule = at.children.get(k) ?? at.star;
      if (rule?.action === 'keep') continue;
      if (rule?.action === 'pseudonymise') {
        if (typeof value !== 'string' || !PSEUDONYM.test(value))
          return `masked: ${path} must be a pseudonym (pseudonymise), and is not`;
      } else if (rule?.action === 'encrypt') {
        if (typeof value !== 'string' || !CIPHERTEXT.test(value))
          return `masked: ${path} must be encrypted (encrypt), and is not`;
      } else if (rule && descends(rule, value)) {
        const inner = walk(value, rule, path);
        if (inner) return inner;
      } else return `masked: ${path} must be erased (no rule keeps it), and is present`;
    }
    return undefined;
  };
  return walk(payload, tree, '');
}

/** Masks records for target jurisdictions, asking for each (class, target) rule set once. */
export class Masker {
  private readonly compiled = new Map<string, RuleNode>();

  constructor(
    private readonly rulesOf: (dataClass: string) => MaskingRules | undefined,
    private readonly keys: MaskKeys,
  ) {}

  mask(
    dataClass: string,
    targetJurisdiction: string,
    payload: Readonly<Record<string, unknown>>,
  ): MaskResult {
    const id = `${dataClass}\u0000${targetJurisdiction}`;
    let tree = this.compiled.get(id);
    if (!tree) {
      // Fail closed: a class without rules leaves with nothing.
      tree = compiledRules(this.rulesOf(dataClass), targetJurisdiction);
      this.compiled.set(id, tree);
    }
    return applyRules(tree, payload, this.keys);
  }

  /** The entity's lineage token (lineage.ts): its id pseudonymised under this home's key. */
  entityToken(entityType: string, entityKey: string): string {
    return entityToken(this.keys.pseudonymKey, entityType, entityKey);
  }
}
