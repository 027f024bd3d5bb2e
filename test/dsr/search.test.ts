/**
 * A subject's search documents (lambda/shared/dsr/search.ts) on the stateful fake of OpenSearch
 * with cross-cluster replication: erased where the index leads, never written in a follower (the
 * replication block refuses it, as OpenSearch does), found in both for access; and the function
 * as deployed: told its domain and allowed to read and query it, not to put or delete indices.
 */
import {
  entitiesQuery,
  eraseSearchDocuments,
  findSearchDocuments,
  subjectIndexPatterns,
  subjectIndices,
} from '../../lambda/shared/dsr/search';
import { FakeOpenSearch } from '../../lib/failover/drill/fake-opensearch';
import { Naming } from '../../lib/naming';
import { buildApp } from '../support/app';
import { load, MINIMAL } from '../support/fixture';

const subject = [{ entityType: 'customer', entityKey: 'c-search-1' }];
const doc = (entityKey: string, name: string) => ({ entityType: 'customer', entityKey, name });
const patterns = subjectIndexPatterns(['pii', 'phi']);

describe('search documents of a subject', () => {
  let search: FakeOpenSearch;
  beforeEach(() => {
    search = new FakeOpenSearch();
    search.addDomain('eu-west-1', 'leader');
    search.addDomain('eu-central-1', 'follower');
    search.seed('leader', 'pii-customers', {
      a: doc('c-search-1', 'Emmy Noether'),
      b: doc('c-search-2', 'Someone Else'),
      // Same key, another type: not the subject's entity.
      c: { entityType: 'order', entityKey: 'c-search-1', total: 3 },
    });
    search.seed('leader', 'masked-us-pii-customers', { a: doc('c-search-1', 'pz_1') });
    search.seed('leader', 'public-products', { p: doc('c-search-1', 'not personal') });
    search.connect('follower', 'leader');
    search.follow('follower', 'pii-customers', 'eu-west-1');
  });
  afterEach(() => search.restore());

  test('patterns: every personal class, full and masked', () => {
    expect(patterns).toEqual(['pii-*', 'masked-*-pii-*', 'phi-*', 'masked-*-phi-*']);
    expect(entitiesQuery(subject).bool.should).toHaveLength(1);
  });

  test('the domain tells its leader indices from its followers', async () => {
    expect(await subjectIndices(search.http('leader'), patterns)).toEqual({
      leaders: ['masked-us-pii-customers', 'pii-customers'],
      followers: [],
    });
    expect(await subjectIndices(search.http('follower'), patterns)).toEqual({
      leaders: [],
      followers: ['pii-customers'],
    });
  });

  test('erasure in the leader; the follower takes it from there, and is never written to', async () => {
    const follower = await eraseSearchDocuments(search.http('follower'), patterns, subject);
    expect(follower).toEqual({ removed: 0, remaining: 0, followers: 1 });
    const leader = await eraseSearchDocuments(search.http('leader'), patterns, subject);
    expect(leader).toEqual({ removed: 2, remaining: 0, followers: 0 });
    expect(search.calls.filter((c) => c.startsWith('follower POST'))).toEqual([]);
    // The other entity, the order with the same key and the non-personal index stay.
    expect([...(search.domain('leader').indices.get('pii-customers')?.docs.keys() ?? [])]).toEqual([
      'b',
      'c',
    ]);
    expect(search.domain('leader').indices.get('public-products')?.docs.size).toBe(1);
    expect(search.domain('follower').indices.get('pii-customers')?.docs.has('a')).toBe(true);
    search.replicate();
    expect(search.domain('follower').indices.get('pii-customers')?.docs.has('a')).toBe(false);
  });

  test('a delete in a follower index is refused, as the replication block refuses it', async () => {
    const res = await search.http('follower')('POST', '/pii-customers/_delete_by_query', {
      query: entitiesQuery(subject),
    });
    expect(res.status).toBe(403);
  });

  test('access finds the documents in leaders and followers alike', async () => {
    const found = await findSearchDocuments(search.http('follower'), patterns, subject);
    expect(found.map((h) => `${h.index}/${h.id}`)).toEqual(['pii-customers/a']);
    const atLeader = await findSearchDocuments(search.http('leader'), patterns, subject);
    expect(atLeader.map((h) => `${h.index}/${h.id}`).sort()).toEqual([
      'masked-us-pii-customers/a',
      'pii-customers/a',
    ]);
  });

  test('an unreachable domain is an error (the state machine retries the region)', async () => {
    search.fail('eu-west-1');
    await expect(eraseSearchDocuments(search.http('leader'), patterns, subject)).rejects.toThrow(
      /fetch failed/,
    );
  });
});

test('each region’s subject-request function knows its search domain and may read and query it only', () => {
  const t = buildApp(load(MINIMAL)).template('eu-west-1');
  const [, fn] =
    Object.entries(t.findResources('AWS::Lambda::Function')).find(
      ([, f]) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'dsr-region',
    ) ?? [];
  const vars = fn?.Properties.Environment.Variables;
  const domainId = Object.entries(t.findResources('AWS::OpenSearchService::Domain')).find(
    ([, d]) => d.Properties.DomainName === new Naming('meridian', 'prod').searchDomain('eu-west-1'),
  )?.[0];
  expect(vars.MERIDIAN_SEARCH_ENDPOINT).toEqual({ 'Fn::GetAtt': [domainId, 'DomainEndpoint'] });
  expect(vars.MERIDIAN_SEARCH_ADMIN_ROLE_ARN['Fn::GetAtt'][1]).toBe('Arn');
  const role = fn?.Properties.Role['Fn::GetAtt'][0];
  const es = Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(role))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[] }[])
    .flatMap((s) => [s.Action].flat())
    .filter((a) => a.startsWith('es:'));
  expect(es.sort()).toEqual(['es:ESHttpGet', 'es:ESHttpPost']);
  // It may assume the domain's admin role, and the role trusts it by ARN.
  const adminRole = vars.MERIDIAN_SEARCH_ADMIN_ROLE_ARN['Fn::GetAtt'][0];
  const trust = JSON.stringify(t.toJSON().Resources[adminRole].Properties.AssumeRolePolicyDocument);
  expect(trust).toContain(role);
});
