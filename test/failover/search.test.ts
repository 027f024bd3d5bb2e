import { Sha256 } from '@aws-crypto/sha256-js';
import { OpenSearchClient } from '@aws-sdk/client-opensearch';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { autoFollowRuleName } from '../../lambda/opensearch-replication/names';
import {
  domainEndpoint,
  ensureFollowConnection,
  FollowConnectionMissingError,
  followLeader,
  SEARCH_IAM,
  type SearchDomainApi,
  SearchDomainNotFoundError,
  SearchReplicationError,
  SearchUnreachableError,
  stopFollowing,
} from '../../lambda/shared/failover/search';
import { type SignedHttp, signedHttp } from '../../lambda/shared/signed-http';
import { FakeOpenSearch } from '../../lib/failover/drill/fake-opensearch';
import { searchDomainName } from '../../lib/naming';

/** O: the original leader (fails, later fails back); T: the promoted target; X: another jurisdiction's region T follows masked projections from. */
const O = 'eu-west-1';
const T = 'eu-central-1';
const X = 'us-east-1';
const dn = (region: string) => searchDomainName('meridian', 'prod', region);
const PERSONAL = 'ada.lovelace@example.com';
const CLASSES = ['pii', 'public', 'orders'];
const FROM_O = ['orders-2024', 'pii-2024', 'public-2024'];
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' };

/**
 * The steady state the custom resource leaves in a two-region cell plus one masked leader: both
 * cell domains connected both ways with one rule per class, T also following X's masked
 * projection; each domain's auto-follow has run once.
 */
function world(): FakeOpenSearch {
  const f = new FakeOpenSearch();
  for (const r of [O, T, X]) f.addDomain(r, dn(r));
  f.connect(dn(T), dn(O));
  f.connect(dn(O), dn(T));
  f.connect(dn(T), dn(X));
  for (const c of CLASSES) {
    f.rule(dn(T), O, autoFollowRuleName(O, c), `${c}-*`);
    f.rule(dn(O), T, autoFollowRuleName(T, c), `${c}-*`);
  }
  f.rule(dn(T), X, autoFollowRuleName(X, 'pii'), 'masked-eu-pii-*');
  f.seed(dn(O), 'pii-2024', { '1': { email: PERSONAL } });
  f.seed(dn(O), 'public-2024', { '1': { title: 'hello' } });
  f.seed(dn(O), 'orders-2024', { '1': { total: 3 } });
  f.seed(dn(T), 'public-euc1', { '1': { title: 'local' } });
  f.seed(dn(X), 'masked-eu-pii-2024', { '1': { hash: 'h1' } });
  f.runAutoFollow();
  return f;
}

const api = (f: FakeOpenSearch, region: string): SearchDomainApi => ({
  http: f.http(dn(region)),
  domain: dn(region),
});
const write = (f: FakeOpenSearch, region: string, index: string, id: string) =>
  f.http(dn(region))('PUT', `/${index}/_doc/${id}`, { note: 'after failover' });
const mutations = (f: FakeOpenSearch) =>
  f.calls.filter((c) => !/ GET /.test(c)).map((c) => c.replace(/ \d+$/, ''));
/** Every error message and result a test saw, to check none carries a document's value. */
const seen: string[] = [];
const capture = async <T>(p: Promise<T>): Promise<T> => {
  try {
    const r = await p;
    seen.push(JSON.stringify(r));
    return r;
  } catch (err) {
    seen.push(String((err as Error).message));
    throw err;
  }
};

let fake: FakeOpenSearch;
afterEach(() => fake?.restore());
afterAll(() => {
  // No personal value in any error or result (index names are fine).
  expect(seen.length).toBeGreaterThan(10);
  for (const s of seen) expect(s).not.toContain(PERSONAL);
});

describe('the fake, as the custom resource leaves it', () => {
  test('T follows O’s indices and X’s masked projection; O follows T’s own index; followers refuse writes', async () => {
    fake = world();
    const follows = (region: string) =>
      [...fake.domain(dn(region)).indices]
        .filter(([, i]) => i.follow)
        .map(([n, i]) => `${n}<-${i.follow?.alias}`);
    expect(follows(T)).toEqual([
      'pii-2024<-from-eu-west-1',
      'public-2024<-from-eu-west-1',
      'orders-2024<-from-eu-west-1',
      'masked-eu-pii-2024<-from-us-east-1',
    ]);
    expect(follows(O)).toEqual(['public-euc1<-from-eu-central-1']);
    const refused = await write(fake, T, 'pii-2024', '2');
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).error.type).toBe('cluster_block_exception');
  });
});

describe('stopFollowing (promotion of T after O failed)', () => {
  test.each([
    ['O down: connection refused', 'refused' as const],
    ['O down: no answer', 'timeout' as const],
    ['O alive (planned switchover)', undefined],
  ])(
    '%s: every index T follows from O stopped, O’s rules removed, X’s follow untouched; T accepts writes',
    async (_name, outage) => {
      fake = world();
      if (outage) fake.fail(O, outage);
      const result = await capture(stopFollowing({ ...api(fake, T), leader: O }));
      expect(result).toEqual({
        stopped: FROM_O,
        alreadyStopped: [],
        rulesRemoved: CLASSES.map((c) => autoFollowRuleName(O, c)),
        otherLeaders: ['masked-eu-pii-2024'],
      });
      for (const index of FROM_O) expect((await write(fake, T, index, '2')).status).toBe(201);
      expect(fake.domain(dn(T)).indices.get('pii-2024')?.docs.get('1')).toEqual({
        email: PERSONAL,
      });
      expect(fake.domain(dn(T)).indices.get('masked-eu-pii-2024')?.follow?.state).toBe('SYNCING');
      expect([...fake.domain(dn(T)).rules.keys()]).toEqual(['from-us-east-1/us-east-1-pii']);
    },
  );

  test('a second call is a no-op success: nothing stopped, nothing removed, no mutating request', async () => {
    fake = world();
    fake.fail(O);
    await stopFollowing({ ...api(fake, T), leader: O });
    fake.calls.length = 0;
    await expect(capture(stopFollowing({ ...api(fake, T), leader: O }))).resolves.toEqual({
      stopped: [],
      alreadyStopped: [],
      rulesRemoved: [],
      otherLeaders: ['masked-eu-pii-2024'],
    });
    expect(mutations(fake)).toEqual([]);
  });

  test('paused, failed and bootstrapping followers (follower_stats does not name them) are found and stopped; a bootstrapping one is deleted, as the plugin does', async () => {
    fake = world();
    fake.fail(O);
    const idx = (n: string) => fake.domain(dn(T)).indices.get(n);
    const [pii, publicIdx, orders] = [idx('pii-2024'), idx('public-2024'), idx('orders-2024')];
    if (!pii?.follow || !publicIdx?.follow || !orders?.follow) throw new Error('setup');
    pii.follow.state = 'PAUSED';
    publicIdx.follow.state = 'FAILED';
    orders.follow.state = 'BOOTSTRAPPING';
    const result = await capture(stopFollowing({ ...api(fake, T), leader: O }));
    expect(result.stopped).toEqual(FROM_O);
    expect(fake.calls).toContain(`${dn(T)} GET /_cat/indices 200`);
    expect(idx('orders-2024')).toBeUndefined();
    expect(idx('pii-2024')?.follow).toBeUndefined();
  });

  test('a run that failed half-way (T stopped answering after the first stop) is completed by the next; the rules, removed last, still told which indices were O’s', async () => {
    fake = world();
    fake.fail(O);
    const http = fake.http(dn(T));
    let stops = 0;
    const flaky: SignedHttp = async (method, path, body) => {
      if (path.endsWith('/_stop') && ++stops > 1) {
        fake.fail(T, 'refused');
        const res = http(method, path, body);
        fake.recover(T);
        return res;
      }
      return http(method, path, body);
    };
    const first = capture(stopFollowing({ http: flaky, domain: dn(T), leader: O }));
    await expect(first).rejects.toThrow(SearchUnreachableError);
    await expect(first).rejects.toMatchObject({ domain: dn(T), reason: 'refused' });
    expect(fake.domain(dn(T)).indices.get('orders-2024')?.follow).toBeUndefined();
    expect(fake.domain(dn(T)).rules.size).toBe(4);
    await expect(capture(stopFollowing({ ...api(fake, T), leader: O }))).resolves.toMatchObject({
      stopped: ['pii-2024', 'public-2024'],
      rulesRemoved: CLASSES.map((c) => autoFollowRuleName(O, c)),
    });
  });

  test('an index another run stops between listing and stopping counts as done (the plugin’s 400 “No replication in progress”)', async () => {
    fake = world();
    const http = fake.http(dn(T));
    const racing: SignedHttp = async (method, path, body) => {
      if (method === 'POST' && path.includes('/pii-2024/')) await http('POST', path, {});
      return http(method, path, body);
    };
    await expect(
      capture(stopFollowing({ http: racing, domain: dn(T), leader: O })),
    ).resolves.toMatchObject({
      stopped: ['orders-2024', 'public-2024'],
      alreadyStopped: ['pii-2024'],
    });
  });

  test.each([
    ['connection refused', 'refused' as const, 'refused'],
    ['no answer before the timeout', 'timeout' as const, 'timeout'],
  ])('T unreachable (%s): a typed error the step maps', async (_n, outage, reason) => {
    fake = world();
    fake.fail(T, outage);
    const err = await capture(stopFollowing({ ...api(fake, T), leader: O })).catch((e) => e);
    expect(err).toBeInstanceOf(SearchUnreachableError);
    expect(err).toMatchObject({ domain: dn(T), reason, operation: `stop following ${O}` });
    expect(err.message).toBe(
      `search domain ${dn(T)} unreachable (${reason}) during stop following ${O}`,
    );
  });

  test('a 503 from the domain is unreachable too; any other refusal is a SearchReplicationError naming index, status and type only', async () => {
    fake = world();
    const http = fake.http(dn(T));
    const unavailable: SignedHttp = async () => ({
      status: 503,
      body: '<html>Service Unavailable</html>',
    });
    await expect(
      capture(stopFollowing({ http: unavailable, domain: dn(T), leader: O })),
    ).rejects.toMatchObject({ name: 'SearchUnreachableError', reason: 'unavailable' });
    // An error whose reason quotes a document: the message must not carry it.
    const quoting: SignedHttp = async (method, path, body) =>
      path.endsWith('/pii-2024/_stop')
        ? {
            status: 400,
            body: JSON.stringify({
              error: {
                type: 'mapper_parsing_exception',
                reason: `failed to parse field [email]. Preview of field's value: '${PERSONAL}'`,
              },
              status: 400,
            }),
          }
        : http(method, path, body);
    const err = await capture(stopFollowing({ http: quoting, domain: dn(T), leader: O })).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(SearchReplicationError);
    expect(err.failures).toEqual([
      { target: 'pii-2024', status: 400, type: 'mapper_parsing_exception' },
    ]);
    expect(err.message).toBe(
      `stop following ${O} on ${dn(T)}: pii-2024: HTTP 400 mapper_parsing_exception`,
    );
    // The others were stopped; the rules stay for the retry.
    expect(fake.domain(dn(T)).indices.get('orders-2024')?.follow).toBeUndefined();
    expect(fake.domain(dn(T)).rules.size).toBe(4);
  });
});

/** The world after T's promotion: O came back with its stale copies; T took writes meanwhile. */
async function afterFailover(): Promise<FakeOpenSearch> {
  const f = world();
  f.fail(O);
  await stopFollowing({ http: f.http(dn(T)), domain: dn(T), leader: O });
  expect((await write(f, T, 'pii-2024', '2')).status).toBe(201);
  f.recover(O);
  f.calls.length = 0;
  return f;
}

describe('followLeader (failback into O from T)', () => {
  test('O’s indices follow T’s: stale copies replaced, the follower O already had kept; O then holds T’s writes and refuses its own', async () => {
    fake = await afterFailover();
    const result = await capture(followLeader({ ...api(fake, O), leader: T, replaceStale: true }));
    expect(result).toEqual({
      started: FROM_O,
      replaced: FROM_O,
      alreadyFollowing: ['public-euc1'],
      missingOnLeader: [],
      blocked: [],
    });
    fake.replicate();
    const pii = fake.domain(dn(O)).indices.get('pii-2024');
    expect(pii?.follow).toEqual({ alias: `from-${T}`, leaderIndex: 'pii-2024', state: 'SYNCING' });
    expect([...(pii?.docs.keys() ?? [])]).toEqual(['1', '2']);
    expect((await write(fake, O, 'pii-2024', '3')).status).toBe(403);
    fake.calls.length = 0;
    await expect(
      capture(followLeader({ ...api(fake, O), leader: T, replaceStale: true })),
    ).resolves.toMatchObject({ started: [], alreadyFollowing: [...FROM_O, 'public-euc1'].sort() });
    expect(mutations(fake)).toEqual([]);
  });

  test('without replaceStale nothing is deleted: the stale copies are reported', async () => {
    fake = await afterFailover();
    await expect(
      capture(followLeader({ ...api(fake, O), leader: T, replaceStale: false })),
    ).resolves.toMatchObject({
      started: [],
      blocked: FROM_O.map((index) => ({ index, reason: 'stale-copy' })),
    });
    expect(mutations(fake)).toEqual(
      FROM_O.map((i) => `${dn(O)} PUT /_plugins/_replication/${i}/_start`),
    );
    expect(fake.domain(dn(O)).indices.get('pii-2024')?.docs.get('1')).toEqual({ email: PERSONAL });
  });

  test('an index T does not have is kept on O; a leader index still following (T never promoted) blocks without deleting O’s copy', async () => {
    fake = world();
    fake.seed(dn(O), 'orders-late', { '1': { total: 9 } });
    const result = await capture(
      followLeader({
        ...api(fake, O),
        leader: T,
        indices: ['orders-late', 'pii-2024'],
        replaceStale: true,
      }),
    );
    expect(result).toMatchObject({
      missingOnLeader: ['orders-late'],
      blocked: [{ index: 'pii-2024', reason: 'leader-is-follower' }],
      started: [],
    });
    expect(fake.domain(dn(O)).indices.has('orders-late')).toBe(true);
    expect(fake.domain(dn(O)).indices.get('pii-2024')?.docs.get('1')).toEqual({ email: PERSONAL });
  });

  test('O without its connection to T: a typed error; ensureFollowConnection re-creates it with the custom resource’s calls, then the follow works', async () => {
    fake = await afterFailover();
    for (const c of fake.connections.values())
      if (c.follower === dn(O) && c.leader === dn(T)) c.status = 'DELETED';
    const err = await capture(
      followLeader({ ...api(fake, O), leader: T, replaceStale: true }),
    ).catch((e) => e);
    expect(err).toBeInstanceOf(FollowConnectionMissingError);
    expect(err).toMatchObject({ domain: dn(O), alias: `from-${T}` });
    expect(fake.domain(dn(O)).indices.get('pii-2024')?.follow).toBeUndefined();

    fake.activateAfter = 2;
    const client = (region: string) =>
      new OpenSearchClient({ region, credentials, maxAttempts: 1 });
    const ref = (r: string) => ({ domainName: dn(r), region: r, account: '111111111111' });
    const first = await ensureFollowConnection({ client }, ref(O), ref(T));
    expect(first).toMatchObject({ state: 'waiting' });
    await expect(ensureFollowConnection({ client }, ref(O), ref(T))).resolves.toMatchObject({
      state: 'active',
    });
    await expect(
      capture(followLeader({ ...api(fake, O), leader: T, replaceStale: true })),
    ).resolves.toMatchObject({ started: FROM_O });
  });

  test('O unreachable: the same typed error', async () => {
    fake = await afterFailover();
    fake.fail(O, 'timeout');
    await expect(
      capture(followLeader({ ...api(fake, O), leader: T, replaceStale: true })),
    ).rejects.toMatchObject({ name: 'SearchUnreachableError', domain: dn(O), reason: 'timeout' });
  });
});

describe('domainEndpoint (DescribeDomain at run time)', () => {
  const client = (region: string) => new OpenSearchClient({ region, credentials, maxAttempts: 1 });

  test('the VPC endpoint of the Naming-style domain in its own region', async () => {
    fake = world();
    await expect(domainEndpoint(client(T), dn(T))).resolves.toBe(fake.domain(dn(T)).endpoint);
  });

  test('an unknown domain, or one asked of another region, is SearchDomainNotFoundError; a region whose control plane is down, SearchUnreachableError', async () => {
    fake = world();
    await expect(capture(domainEndpoint(client(T), dn(O)))).rejects.toBeInstanceOf(
      SearchDomainNotFoundError,
    );
    fake.fail(O, 'timeout');
    await expect(capture(domainEndpoint(client(O), dn(O)))).rejects.toMatchObject({
      name: 'SearchUnreachableError',
      reason: 'timeout',
    });
  });
});

describe('signed end to end (lambda/shared/signed-http.ts against the fake’s fetch)', () => {
  test('promotion through the real signer: SigV4 for the domain’s region, the query signed apart from the path', async () => {
    fake = world();
    fake.fail(O);
    // A paused follower makes stopFollowing list indices with _cat/indices: a query to sign.
    const paused = fake.domain(dn(T)).indices.get('orders-2024')?.follow;
    if (paused) paused.state = 'PAUSED';
    const sent: { url: string; headers: Record<string, string> }[] = [];
    const recording: typeof fetch = async (input, init) => {
      sent.push({ url: String(input), headers: init?.headers as Record<string, string> });
      return fake.fetch(input, init);
    };
    const endpoint = fake.domain(dn(T)).endpoint;
    const http = signedHttp({
      endpoint,
      region: T,
      credentials,
      fetch: recording,
      timeoutMs: 5000,
    });
    await expect(capture(stopFollowing({ http, domain: dn(T), leader: O }))).resolves.toMatchObject(
      { stopped: FROM_O },
    );
    const cat = sent.find((s) => s.url.includes('/_cat/indices?'));
    if (!cat) throw new Error('no _cat/indices request');
    const expected = await new SignatureV4({
      service: 'es',
      region: T,
      credentials,
      sha256: Sha256,
    }).sign(
      new HttpRequest({
        method: 'GET',
        protocol: 'https:',
        hostname: endpoint,
        path: '/_cat/indices',
        query: { format: 'json', h: 'index' },
        headers: { host: endpoint },
      }),
      { signingDate: new Date(Number(Date.parse(isoDate(cat.headers['x-amz-date'] ?? '')))) },
    );
    expect(cat.headers.authorization).toBe(expected.headers.authorization);
  });

  test('an unsigned request is refused as AWS refuses it; a dead region times out as fetch does', async () => {
    fake = world();
    const endpoint = fake.domain(dn(T)).endpoint;
    const res = await fake.fetch(`https://${endpoint}/_plugins/_replication/follower_stats`);
    expect(res.status).toBe(403);
    fake.fail(T, 'timeout');
    const http = signedHttp({ endpoint, region: T, credentials, fetch: fake.fetch });
    await expect(capture(stopFollowing({ http, domain: dn(T), leader: O }))).rejects.toMatchObject({
      name: 'SearchUnreachableError',
      reason: 'timeout',
    });
  });
});

describe('SEARCH_IAM', () => {
  test('allows every HTTP method each function sends', async () => {
    fake = await afterFailover();
    const methods = (prefix: string) =>
      new Set(fake.calls.filter((c) => c.startsWith(prefix)).map((c) => c.split(' ')[1] ?? ''));
    const allows = (actions: readonly string[], method: string) =>
      actions.includes(`es:ESHttp${method[0]}${method.slice(1).toLowerCase()}`);
    await followLeader({ ...api(fake, O), leader: T, replaceStale: true });
    for (const m of methods(`${dn(O)} `))
      expect(allows(SEARCH_IAM.followLeader[0].actions, m)).toBe(true);
    fake.restore();
    fake = world();
    await stopFollowing({ ...api(fake, T), leader: O });
    for (const m of methods(`${dn(T)} `))
      expect(allows(SEARCH_IAM.stopFollowing[0].actions, m)).toBe(true);
  });
});

/** `20250101T000000Z` → ISO. */
function isoDate(amz: string): string {
  return `${amz.slice(0, 4)}-${amz.slice(4, 6)}-${amz.slice(6, 8)}T${amz.slice(9, 11)}:${amz.slice(11, 13)}:${amz.slice(13, 15)}Z`;
}
