/**
 * A change travelling between regions, and the checks every message is put through before it is
 * trusted. A message that fails them is poison: it goes to the dead-letter queue with the reason,
 * it is never retried and never dropped.
 */
import type { Hlc } from './hlc';
import { ENTITY_TOKEN, type MessageLineage } from './lineage';

export type Op = 'upsert' | 'delete';

export interface ChangeEvent {
  /** Lower-case UUID; also the SQS deduplication id and the idempotency key. */
  readonly eventId: string;
  readonly entityType: string;
  readonly entityKey: string;
  readonly dataClass: string;
  /** Region whose jurisdiction governs the record. */
  readonly homeRegion: string;
  /** Region where this version was written. */
  readonly originRegion: string;
  readonly hlc: Hlc;
  readonly op: Op;
  /** The record (for `upsert`); masked when the target is outside the home jurisdiction. */
  readonly payload: Readonly<Record<string, unknown>>;
  /**
   * The data subject consented to the transfers that rest on consent (`transfers.<j>.basis:
   * consent`); set by the application from its consent records. Absent: no consent.
   */
  readonly consent?: boolean;
}

/** What the dispatch function sends to a target region's inbound queue. */
export interface SyncMessage {
  readonly v: 1;
  readonly event: ChangeEvent;
  /** `masked` when the payload is a masked projection. */
  readonly mode: 'full' | 'masked';
  /** Paths that were erased, pseudonymised or encrypted (for the audit). */
  readonly maskedFields: readonly string[];
  readonly sourceRegion: string;
  /**
   * The dispatch run that sent it and the entity's lineage token (lineage.ts), for the audit.
   * @default - none (a message from before lineage, or one a person rebuilt)
   */
  readonly lineage?: MessageLineage;
}

/** What apply keeps of an inbound message beside its event when it parks it (for a redrive). */
export type InboundEnvelope = Pick<
  SyncMessage,
  'mode' | 'maskedFields' | 'sourceRegion' | 'lineage'
>;

export class MalformedMessageError extends Error {
  override readonly name = 'MalformedMessageError';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const NAME = /^[A-Za-z0-9_.:-]{1,200}$/;

/** The entity's cache key and SQS message group: `<type>:<key>`. */
export const entityId = (e: Pick<ChangeEvent, 'entityType' | 'entityKey'>) =>
  `${e.entityType}:${e.entityKey}`;

/** Validates one event; throws MalformedMessageError naming every fault. */
export function parseEvent(raw: unknown, where = 'event'): ChangeEvent {
  const e = (raw ?? {}) as Record<string, unknown>;
  const faults: string[] = [];
  const str = (k: string, re: RegExp, what: string) => {
    if (typeof e[k] !== 'string' || !re.test(e[k] as string))
      // The rule, never the value: a key or a class may be personal data.
      faults.push(`${where}.${k}: expected ${what}${e[k] === undefined ? ', got nothing' : ''}`);
  };
  str('eventId', UUID, 'a lower-case UUID');
  str('entityType', NAME, 'a name of letters, digits, _ . : -');
  str('entityKey', NAME, 'a key of letters, digits, _ . : -');
  str('dataClass', /^[a-z][a-z0-9-]{0,30}$/, 'a data class id');
  str('homeRegion', REGION, 'a region id');
  str('originRegion', REGION, 'a region id');
  const hlc = (e.hlc ?? {}) as Record<string, unknown>;
  if (
    !Number.isSafeInteger(hlc.wall) ||
    (hlc.wall as number) < 0 ||
    !Number.isSafeInteger(hlc.logical) ||
    (hlc.logical as number) < 0 ||
    (hlc.logical as number) > 2 ** 31 - 1
  )
    faults.push(`${where}.hlc: expected {wall, logical} non-negative integers`);
  if (e.op !== 'upsert' && e.op !== 'delete') faults.push(`${where}.op: expected upsert or delete`);
  if (typeof e.payload !== 'object' || e.payload === null || Array.isArray(e.payload))
    faults.push(`${where}.payload: expected an object`);
  if (e.consent !== undefined && typeof e.consent !== 'boolean')
    faults.push(`${where}.consent: expected true or false`);
  if (faults.length > 0) throw new MalformedMessageError(faults.join('; '));
  return e as unknown as ChangeEvent;
}

/** Parses a message body; throws MalformedMessageError for anything but a valid SyncMessage. */
export function parseMessage(body: string): SyncMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    // Not the parser's message: it quotes the text.
    throw new MalformedMessageError('body is not JSON');
  }
  const m = (raw ?? {}) as Record<string, unknown>;
  if (m.v !== 1) throw new MalformedMessageError('v: expected 1');
  if (m.mode !== 'full' && m.mode !== 'masked')
    throw new MalformedMessageError('mode: expected full or masked');
  if (typeof m.sourceRegion !== 'string' || !REGION.test(m.sourceRegion))
    throw new MalformedMessageError('sourceRegion: expected a region id');
  if (!Array.isArray(m.maskedFields) || !m.maskedFields.every((f) => typeof f === 'string'))
    throw new MalformedMessageError('maskedFields: expected a list of field paths');
  const lineage = m.lineage as Record<string, unknown> | undefined;
  if (
    lineage !== undefined &&
    (typeof lineage !== 'object' ||
      lineage === null ||
      typeof lineage.correlationId !== 'string' ||
      !NAME.test(lineage.correlationId) ||
      typeof lineage.entity !== 'string' ||
      !ENTITY_TOKEN.test(lineage.entity))
  )
    throw new MalformedMessageError('lineage: expected {correlationId, entity token}');
  const event = parseEvent(m.event);
  return {
    v: 1,
    event,
    mode: m.mode,
    maskedFields: m.maskedFields,
    sourceRegion: m.sourceRegion,
    ...(lineage
      ? {
          lineage: {
            correlationId: lineage.correlationId as string,
            entity: lineage.entity as string,
          },
        }
      : {}),
  };
}
