/**
 * Record lineage: what each run did with each record, written as `records` inside the run's audit
 * object (one object per dispatch batch or apply run, `sync/<kind>/<yyyy>/<mm>/<dd>/<region>/`), so
 * "where did record X go, masked how, under which rule, and where is it now" is answered from the
 * audit objects alone — by `npm run lineage`, or by Athena over the table each regional stack
 * defines on its audit bucket (lib/sync/lineage-table.ts).
 *
 * A lineage record names ids, classes, regions, rules and field paths, never a value: the entity is
 * a token (HMAC-SHA256 under the home jurisdiction's pseudonym key, as masking pseudonymises), the
 * rules are the plan's reasons and the checks' (which name fields and rules only). One correlation
 * id — the dispatch run's — travels with the message, so a record's dispatch and apply join on it
 * and on the event id. Apply keeps the token a message carries without being able to check it
 * (the key is the home's, never replicated): a forged one mislabels only that message's own row.
 */
import type { Decision, EdgeBasis, ResidencyIndex } from '../residency-plan';

/** What became of a record on one hop, from the sender's side or the receiver's. */
export type HopOutcome =
  /** dispatch: the target's queue accepted it. */
  | 'sent'
  /** dispatch: the plan does not let it go there; it stays home. */
  | 'withheld'
  /** dispatch: not accepted yet; retried with backoff. apply: SQS redelivers it. */
  | 'retrying'
  /** parked in the dead-letter queue with its reason (redrive brings it back once fixed). */
  | 'parked'
  /** apply: it is the entity's current version here. */
  | 'applied'
  /** apply: kept in history, a later version wins. */
  | 'superseded'
  /** apply: a sibling version waits for a person (manual conflict strategy). */
  | 'review'
  /** apply: already here (a redelivery or a replay). */
  | 'duplicate'
  /** apply: this region is not its cell's writer; sent on to the writer. */
  | 'forwarded'
  /** apply: its entity was erased after this version was written; dropped (erasure.ts). */
  | 'erased';

/** One source → target step of a record. */
export interface Hop {
  /** The region the record was for (dispatch: the target cell's writer then; apply: here). */
  readonly target: string;
  readonly decision: 'allowed' | 'denied';
  /** The plan's rule: the edge it allowed, or why it refused (names classes and regions only). */
  readonly rule: string;
  readonly mode?: 'full' | 'masked';
  /** The legal basis of a crossing between jurisdictions. */
  readonly basis?: EdgeBasis['basis'];
  /** Paths erased, pseudonymised or encrypted on this hop. */
  readonly maskedFields: readonly string[];
  readonly outcome: HopOutcome;
  /** Why it was parked, retried or refused by a check (field and rule names only). */
  readonly reason?: string;
  /** Where it went instead (apply, `forwarded`). */
  readonly forwardedTo?: string;
}

export interface LineageRecord {
  readonly eventId: string;
  /** `pz_…`: the entity (`type:key`) under the home pseudonym key; absent when unknown. */
  readonly entity?: string;
  readonly dataClass: string;
  readonly op: 'upsert' | 'delete';
  readonly homeRegion: string;
  /** The region that sent it (dispatch: this region). */
  readonly sourceRegion: string;
  /** The dispatch run that sent it, carried in the message; absent for messages without one. */
  readonly correlationId?: string;
  readonly consent: boolean;
  readonly hops: readonly Hop[];
}

/** What a message carries for lineage beside its event. */
export interface MessageLineage {
  readonly correlationId: string;
  readonly entity: string;
}

export const ENTITY_TOKEN = /^pz_[A-Za-z0-9_-]{22}$/;

/** The value a lineage token is computed over: the entity id, apart from payload pseudonyms. */
export const entityTokenInput = (entityType: string, entityKey: string) =>
  `lineage:entity:${entityType}:${entityKey}`;

type Rule = Pick<Hop, 'decision' | 'rule' | 'mode' | 'basis'>;

/** Allowed rules by plan and edge: the same few strings for every record (dispatch's hot path). */
const allowedRules = new WeakMap<ResidencyIndex, Map<string, Rule>>();

/** The rule text of a decision: the edge it used, or the plan's reason for refusing. */
export function ruleOf(
  index: ResidencyIndex,
  dataClass: string,
  home: string,
  target: string,
  d: Decision,
): Rule {
  if (!d.allowed) return { decision: 'denied', rule: d.reason };
  let rules = allowedRules.get(index);
  if (!rules) {
    rules = new Map();
    allowedRules.set(index, rules);
  }
  const key = `${dataClass}\u0000${home}\u0000${target}\u0000${d.mode}\u0000${d.basis?.basis ?? ''}`;
  let rule = rules.get(key);
  if (!rule) {
    const [from, to] = [index.jurisdictionOf(home), index.jurisdictionOf(target)];
    const where = from === to ? `inside ${from}` : `${from} → ${to}`;
    rule = {
      decision: 'allowed',
      rule: `dataClasses.${dataClass}: ${d.mode} ${where}`,
      mode: d.mode,
      ...(d.basis ? { basis: d.basis.basis } : {}),
    };
    rules.set(key, rule);
  }
  return rule;
}
