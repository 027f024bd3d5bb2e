/**
 * The Athena query that answers "where did this record go" in one region's audit database
 * (lib/sync/lineage-table.ts), and the `aws athena` line that runs it. Only ids reach the query:
 * an event id, or an entity's lineage token (never the entity key itself, which can be personal
 * data and would stay in Athena's query history).
 */
import { ENTITY_TOKEN } from '../../lambda/shared/sync/lineage';
import { entityToken as tokenOf } from '../../lambda/shared/sync/masking';
import type { Naming } from '../naming';
import { LINEAGE_TABLE } from '../sync/lineage-table';
import type { JourneyQuery } from './journey';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

export class LineageQueryError extends Error {
  override readonly name = 'LineageQueryError';
}

/** Checks what the query will name; throws LineageQueryError naming the flag and the fix. */
export function checkQuery(q: JourneyQuery): JourneyQuery {
  if ('eventId' in q && !UUID.test(q.eventId))
    throw new LineageQueryError('--event: expected a lower-case UUID (an event id)');
  if ('entity' in q && !ENTITY_TOKEN.test(q.entity))
    throw new LineageQueryError('--entity-token: expected pz_ and 22 characters of base64url');
  return q;
}

/**
 * The lineage token of `type:key` under the home jurisdiction's pseudonym key (the secret's string
 * value, as Secrets Manager holds it): what dispatch writes as `entity`.
 */
export function entityToken(entity: string, pseudonymKey: string): string {
  const at = entity.indexOf(':');
  if (at <= 0 || at === entity.length - 1)
    throw new LineageQueryError('--entity: expected <entity type>:<entity key>');
  return tokenOf(
    Buffer.from(pseudonymKey.trim(), 'utf8'),
    entity.slice(0, at),
    entity.slice(at + 1),
  );
}

/** One row per hop, oldest first; `since` (YYYY-MM-DD) prunes partitions before that day. */
export function lineageSql(
  naming: Naming,
  region: string,
  q: JourneyQuery,
  since?: string,
): string {
  checkQuery(q);
  if (since !== undefined && !DAY.test(since))
    throw new LineageQueryError('--since: expected a day as YYYY-MM-DD');
  const where = 'eventId' in q ? `r.eventid = '${q.eventId}'` : `r.entity = '${q.entity}'`;
  return [
    'SELECT l."at", l.kind AS stage, l.region, l.correlationid AS run, r.eventid, r.dataclass, r.op,',
    '       r.homeregion, r.sourceregion, r.correlationid AS sent_by_run, h.target, h.decision,',
    '       h.rule, h.basis, h.mode, h.maskedfields, h.outcome, h.reason, h.forwardedto',
    `  FROM "${naming.auditDatabase(region)}"."${LINEAGE_TABLE}" l`,
    ' CROSS JOIN UNNEST(l.records) AS t (r)',
    ' CROSS JOIN UNNEST(r.hops) AS u (h)',
    ` WHERE ${where}`,
    ...(since ? [`   AND l."day" >= '${since.replaceAll('-', '/')}'`] : []),
    ' ORDER BY l."at", l.kind DESC, h.target',
  ].join('\n');
}

/** The shell line that starts the query in the region's lineage workgroup. */
export function startQueryCommand(naming: Naming, region: string, sql: string): string {
  return [
    `aws athena start-query-execution --region ${region} \\`,
    `  --work-group ${naming.lineageWorkgroup(region)} \\`,
    `  --query-string "$(cat <<'SQL'`,
    sql,
    'SQL',
    ')"',
  ].join('\n');
}
