/**
 * A subject's search documents in one region's OpenSearch domain. Indices are named by class
 * (`<class>-…`, and `masked-<jurisdiction>-<class>-…` for masked projections: lib/search/
 * search-routes.ts); a document names its entity in two keyword fields, `entityType` and
 * `entityKey` (the same pair as the sync tables).
 *
 * Cross-cluster replication makes every follower index read-only: a document is erased where its
 * index leads (the region writing it), and the followers take the deletion from there. So each
 * region erases in its own leader indices and leaves its followers alone; after every region has
 * run, every leader is clean, and the followers follow. No document source, key or value is
 * returned by the erasure: counts only.
 */
import type { SignedHttp } from '../signed-http';
import type { EntityRef } from './subject';

export class SearchApiError extends Error {
  override readonly name = 'SearchApiError';
}

/** The index patterns a subject's documents can be in: every personal class, full and masked. */
export const subjectIndexPatterns = (personal: readonly string[]): string[] =>
  personal.flatMap((c) => [`${c}-*`, `masked-*-${c}-*`]);

/** The query for the entities' documents (term queries on the keyword fields: exact, no analysis). */
export const entitiesQuery = (entities: readonly EntityRef[]) => ({
  bool: {
    should: entities.map((e) => ({
      bool: {
        filter: [{ term: { entityType: e.entityType } }, { term: { entityKey: e.entityKey } }],
      },
    })),
    minimum_should_match: 1,
  },
});

async function json<T>(http: SignedHttp, method: 'GET' | 'POST', path: string, body?: unknown) {
  const res = await http(method, path, body);
  if (res.status >= 300)
    // The status and the error type only: OpenSearch may echo the query (entity keys) in a reason.
    throw new SearchApiError(
      `${method} ${path.split('?')[0]}: ${res.status} ${(JSON.parse(res.body || '{}') as { error?: { type?: string } }).error?.type ?? ''}`.trim(),
    );
  return JSON.parse(res.body) as T;
}

/** The domain's indices matching the patterns, split into those it leads and those it follows. */
export async function subjectIndices(
  http: SignedHttp,
  patterns: readonly string[],
): Promise<{ readonly leaders: string[]; readonly followers: string[] }> {
  const rows = await json<{ index: string }[]>(
    http,
    'GET',
    `/_cat/indices/${patterns.join(',')}?format=json&h=index`,
  );
  const leaders: string[] = [];
  const followers: string[] = [];
  for (const { index } of rows.sort((a, b) => a.index.localeCompare(b.index))) {
    const res = await http('GET', `/_plugins/_replication/${index}/_status`);
    // "REPLICATION NOT IN PROGRESS": a regular index, written here. Anything else (syncing,
    // paused, or a 500 because its leader is unreachable) is a follower: read-only here.
    const status = res.status < 300 ? (JSON.parse(res.body) as { status?: string }).status : '';
    (status === 'REPLICATION NOT IN PROGRESS' ? leaders : followers).push(index);
  }
  return { leaders, followers };
}

export interface SearchErasure {
  /** Documents deleted from the indices this region leads. */
  readonly removed: number;
  /** Documents still found in them afterwards (0, or the erasure failed). */
  readonly remaining: number;
  /** Follower indices left to take the deletion from their leaders. */
  readonly followers: number;
}

/** Deletes the entities' documents from every matching index this domain leads. */
export async function eraseSearchDocuments(
  http: SignedHttp,
  patterns: readonly string[],
  entities: readonly EntityRef[],
): Promise<SearchErasure> {
  const { leaders, followers } = await subjectIndices(http, patterns);
  if (leaders.length === 0) return { removed: 0, remaining: 0, followers: followers.length };
  const target = leaders.join(',');
  const query = entitiesQuery(entities);
  const out = await json<{ deleted?: number; failures?: unknown[] }>(
    http,
    'POST',
    `/${target}/_delete_by_query?conflicts=proceed&refresh=true`,
    { query },
  );
  if ((out.failures ?? []).length > 0)
    throw new SearchApiError(`_delete_by_query: ${out.failures?.length} failures`);
  const left = await json<{ count: number }>(http, 'POST', `/${target}/_count`, { query });
  return { removed: out.deleted ?? 0, remaining: left.count, followers: followers.length };
}

/** The entities' documents in every matching index of the domain (leaders and followers): access. */
export async function findSearchDocuments(
  http: SignedHttp,
  patterns: readonly string[],
  entities: readonly EntityRef[],
): Promise<{ index: string; id: string; source: Record<string, unknown> }[]> {
  const { leaders, followers } = await subjectIndices(http, patterns);
  const all = [...leaders, ...followers];
  if (all.length === 0) return [];
  const out = await json<{
    hits: { hits: { _index: string; _id: string; _source: Record<string, unknown> }[] };
  }>(http, 'POST', `/${all.join(',')}/_search`, {
    query: entitiesQuery(entities),
    size: 1000,
  });
  return out.hits.hits.map((h) => ({ index: h._index, id: h._id, source: h._source }));
}
