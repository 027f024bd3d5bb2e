import {
  AcceptInboundConnectionCommand,
  CreateOutboundConnectionCommand,
  DeleteOutboundConnectionCommand,
  DescribeOutboundConnectionsCommand,
  OpenSearchClient,
} from '@aws-sdk/client-opensearch';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import {
  InvalidPropertiesError,
  type IsCompleteRequest,
  isComplete,
  type OnEventRequest,
  onEvent,
  parseSpec,
} from '../../lambda/opensearch-replication/custom-resource';
import {
  continueReplication,
  type ReplicationDeps,
  ReplicationError,
  type ReplicationSpec,
  removeReplication,
  replicationRemoved,
  startReplication,
} from '../../lambda/opensearch-replication/replication';

/**
 * A stateful fake of the OpenSearch connection API across regions: connections live in the
 * follower's region; accepting happens in the leader's; accepted connections turn ACTIVE after
 * `activateAfter` describes. `http` fakes the follower's SigV4-signed `_plugins/_replication`
 * auto-follow API (rules by name; 400 "already exists", 404 "does not exist").
 */
class FakeOpenSearch {
  readonly connections = new Map<
    string,
    {
      alias: string;
      local: string;
      remote: string;
      status: string;
      describes: number;
      acceptedIn?: string;
    }
  >();
  readonly rules = new Map<string, string>();
  readonly calls: string[] = [];
  private next = 1;
  constructor(
    readonly activateAfter = 1,
    readonly leaderRejects = false,
  ) {}

  deps(overrides: Partial<ReplicationDeps> = {}): ReplicationDeps {
    const mock = mockClient(OpenSearchClient);
    mock.on(DescribeOutboundConnectionsCommand).callsFake(() => ({
      Connections: [...this.connections.entries()].map(([id, c]) => {
        if (c.status === 'PROVISIONING' && ++c.describes >= this.activateAfter) c.status = 'ACTIVE';
        return {
          ConnectionId: id,
          ConnectionAlias: c.alias,
          LocalDomainInfo: { AWSDomainInformation: { DomainName: c.local } },
          RemoteDomainInfo: { AWSDomainInformation: { DomainName: c.remote } },
          ConnectionStatus: { StatusCode: c.status },
        };
      }),
    }));
    mock.on(CreateOutboundConnectionCommand).callsFake((input) => {
      const id = `conn-${this.next++}`;
      this.calls.push(
        `create ${input.LocalDomainInfo.AWSDomainInformation.DomainName}->${input.RemoteDomainInfo.AWSDomainInformation.DomainName}`,
      );
      this.connections.set(id, {
        alias: input.ConnectionAlias,
        local: input.LocalDomainInfo.AWSDomainInformation.DomainName,
        remote: input.RemoteDomainInfo.AWSDomainInformation.DomainName,
        status: 'PENDING_ACCEPTANCE',
        describes: 0,
      });
      return { ConnectionId: id, ConnectionStatus: { StatusCode: 'PENDING_ACCEPTANCE' } };
    });
    mock.on(AcceptInboundConnectionCommand).callsFake((input) => {
      const c = this.connections.get(input.ConnectionId);
      this.calls.push(`accept ${input.ConnectionId}`);
      if (c) c.status = this.leaderRejects ? 'REJECTED' : 'PROVISIONING';
      return {};
    });
    mock.on(DeleteOutboundConnectionCommand).callsFake((input) => {
      this.calls.push(`delete ${input.ConnectionId}`);
      this.connections.delete(input.ConnectionId);
      return {};
    });
    return {
      client: (region) => {
        this.calls.push(`client ${region}`);
        return new OpenSearchClient({
          region,
          credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
        });
      },
      http: async (method, _path, body) => {
        const { name, pattern } = body as { name: string; pattern?: string };
        this.calls.push(`${method} rule ${name}`);
        if (method === 'DELETE') {
          if (!this.rules.delete(name))
            return { status: 404, body: 'autofollow rule does not exist' };
          return { status: 200, body: '{"acknowledged":true}' };
        }
        if (this.rules.has(name))
          return { status: 400, body: `autofollow rule ${name} already exists` };
        this.rules.set(name, pattern ?? '');
        return { status: 200, body: '{"acknowledged":true}' };
      },
      ...overrides,
    };
  }
}

const spec: ReplicationSpec = {
  leader: { domainName: 'meridian-prod-euw1', region: 'eu-west-1', account: '111111111111' },
  follower: { domainName: 'meridian-prod-euc1', region: 'eu-central-1', account: '111111111111' },
  followerEndpoint: 'vpc-meridian-prod-euc1.eu-central-1.es.amazonaws.com',
  connectionAlias: 'from-eu-west-1',
  rules: [
    { name: 'eu-west-1-pii', pattern: 'pii-*' },
    { name: 'eu-west-1-public', pattern: 'public-*' },
  ],
};

const PHYSICAL_ID = 'ccr:eu-west-1/meridian-prod-euw1->eu-central-1/meridian-prod-euc1';
const others = (calls: readonly string[]) => calls.filter((c) => !c.startsWith('client'));

describe('cross-cluster replication steps', () => {
  test('start: outbound connection from the follower, accepted in the leader’s region; no rules yet', async () => {
    const fake = new FakeOpenSearch();
    await expect(startReplication(spec, fake.deps())).resolves.toEqual({ connectionId: 'conn-1' });
    expect(others(fake.calls)).toEqual([
      'create meridian-prod-euc1->meridian-prod-euw1',
      'accept conn-1',
    ]);
    expect(fake.calls).toContain('client eu-west-1');
    expect(fake.rules.size).toBe(0);
  });

  test('start again: the live connection is reused, nothing created or accepted', async () => {
    const fake = new FakeOpenSearch();
    const deps = fake.deps();
    await startReplication(spec, deps);
    fake.calls.length = 0;
    await expect(startReplication(spec, deps)).resolves.toEqual({ connectionId: 'conn-1' });
    expect(others(fake.calls)).toEqual([]);
  });

  test('continue: waits while the connection provisions, then puts the rules once it is ACTIVE', async () => {
    const fake = new FakeOpenSearch(3);
    const deps = fake.deps();
    await startReplication(spec, deps);
    const seen = [];
    for (let i = 0; i < 3; i++) seen.push(await continueReplication(spec, deps));
    expect(seen).toEqual([
      { state: 'waiting', connectionId: 'conn-1', status: 'PROVISIONING' },
      { state: 'waiting', connectionId: 'conn-1', status: 'PROVISIONING' },
      { state: 'active', connectionId: 'conn-1' },
    ]);
    expect([...fake.rules]).toEqual([
      ['eu-west-1-pii', 'pii-*'],
      ['eu-west-1-public', 'public-*'],
    ]);
    // Repeating the last step tolerates the rules that already exist.
    await expect(continueReplication(spec, deps)).resolves.toEqual(seen[2]);
  });

  test('continue: a connection still waiting for the leader is accepted again', async () => {
    const fake = new FakeOpenSearch();
    const deps = fake.deps();
    fake.connections.set('conn-9', {
      alias: spec.connectionAlias,
      local: spec.follower.domainName,
      remote: spec.leader.domainName,
      status: 'PENDING_ACCEPTANCE',
      describes: 0,
    });
    await expect(continueReplication(spec, deps)).resolves.toMatchObject({ state: 'waiting' });
    expect(others(fake.calls)).toEqual(['accept conn-9']);
  });

  test('continue: rules dropped from the spec (an Update) are deleted', async () => {
    const fake = new FakeOpenSearch();
    const deps = fake.deps();
    await startReplication(spec, deps);
    await continueReplication(spec, deps);
    await continueReplication(
      { ...spec, rules: [{ name: 'eu-west-1-public', pattern: 'public-*' }] },
      deps,
      spec.rules,
    );
    expect([...fake.rules.keys()]).toEqual(['eu-west-1-public']);
  });

  test('continue: a rejected connection is an error naming both domains (no waiting for the timeout)', async () => {
    const fake = new FakeOpenSearch(1, true);
    const deps = fake.deps();
    await startReplication(spec, deps);
    await expect(continueReplication(spec, deps)).rejects.toThrow(
      new ReplicationError(
        'connection from-eu-west-1 (meridian-prod-euc1 → meridian-prod-euw1) is missing, not ACTIVE',
      ),
    );
  });

  test('continue: an auto-follow rule the domain refuses is an error with the HTTP answer', async () => {
    const fake = new FakeOpenSearch();
    const deps = fake.deps({
      http: async () => ({
        status: 403,
        body: 'no permissions for [cluster:admin/plugins/replication]',
      }),
    });
    await startReplication(spec, deps);
    await expect(continueReplication(spec, deps)).rejects.toThrow(
      'auto-follow rule eu-west-1-pii (pii-*): HTTP 403 no permissions for [cluster:admin/plugins/replication]',
    );
  });

  test('remove: rules and connection removed; a second remove is a no-op', async () => {
    const fake = new FakeOpenSearch();
    const deps = fake.deps();
    await startReplication(spec, deps);
    await continueReplication(spec, deps);
    await expect(replicationRemoved(spec, deps)).resolves.toBe(false);
    await removeReplication(spec, deps);
    expect(fake.rules.size).toBe(0);
    expect(fake.connections.size).toBe(0);
    await expect(replicationRemoved(spec, deps)).resolves.toBe(true);
    await expect(removeReplication(spec, deps)).resolves.toBeUndefined();
  });
});

const props = (s: ReplicationSpec = spec) => s as unknown as Record<string, unknown>;
const request = (
  type: OnEventRequest['RequestType'],
  extra: Partial<OnEventRequest> = {},
): OnEventRequest => ({
  RequestType: type,
  LogicalResourceId: 'SearchReplicationFromeuwest1',
  ResourceProperties: props(),
  ...(type === 'Create' ? {} : { PhysicalResourceId: PHYSICAL_ID }),
  ...extra,
});

/** A fake whose connection is ACTIVE with both rules, as a finished Create leaves it. */
async function replicating(): Promise<FakeOpenSearch> {
  const fake = new FakeOpenSearch();
  const deps = fake.deps();
  await startReplication(spec, deps);
  await continueReplication(spec, deps);
  fake.calls.length = 0;
  return fake;
}

describe('custom resource: onEvent', () => {
  test.each<[string, () => Promise<FakeOpenSearch>, OnEventRequest, object, string[]]>([
    [
      'Create: starts the connection; physical id names both domains',
      async () => new FakeOpenSearch(),
      request('Create'),
      { PhysicalResourceId: PHYSICAL_ID, Data: { connectionId: 'conn-1' } },
      ['create meridian-prod-euc1->meridian-prod-euw1', 'accept conn-1'],
    ],
    [
      'Update of the rules: same connection, same physical id',
      replicating,
      request('Update', { OldResourceProperties: props() }),
      { PhysicalResourceId: PHYSICAL_ID, Data: { connectionId: 'conn-1' } },
      [],
    ],
    [
      'Update to another leader: a new physical id (CloudFormation then deletes the old one)',
      replicating,
      request('Update', {
        ResourceProperties: props({
          ...spec,
          leader: { ...spec.leader, domainName: 'meridian-prod-euw1b' },
        }),
      }),
      {
        PhysicalResourceId: 'ccr:eu-west-1/meridian-prod-euw1b->eu-central-1/meridian-prod-euc1',
        Data: { connectionId: 'conn-2' },
      },
      ['create meridian-prod-euc1->meridian-prod-euw1b', 'accept conn-2'],
    ],
    [
      'Delete: rules and connection removed, physical id kept',
      replicating,
      request('Delete'),
      { PhysicalResourceId: PHYSICAL_ID },
      ['DELETE rule eu-west-1-pii', 'DELETE rule eu-west-1-public', 'delete conn-1'],
    ],
    [
      'Delete of properties that never parsed: nothing to remove',
      async () => new FakeOpenSearch(),
      request('Delete', { ResourceProperties: {} }),
      { PhysicalResourceId: PHYSICAL_ID },
      [],
    ],
  ])('%s', async (_name, given, event, answer, calls) => {
    const fake = await given();
    await expect(onEvent(event, fake.deps())).resolves.toEqual(answer);
    expect(others(fake.calls)).toEqual(calls);
  });

  test('malformed properties fail Create with every fault', async () => {
    const expected = new InvalidPropertiesError(
      'rules: expected a list; leader.domainName: expected a non-empty string; leader.region: expected a non-empty string; leader.account: expected a non-empty string; follower.domainName: expected a non-empty string; follower.region: expected a non-empty string; follower.account: expected a non-empty string; followerEndpoint: expected a non-empty string; connectionAlias: expected a non-empty string',
    );
    expect(() => parseSpec({ leader: {}, rules: 'x' })).toThrow(expected);
    await expect(
      onEvent(
        request('Create', { ResourceProperties: { leader: {}, rules: 'x' } }),
        new FakeOpenSearch().deps(),
      ),
    ).rejects.toThrow(expected);
  });
});

describe('custom resource: isComplete', () => {
  const polled = (event: OnEventRequest): IsCompleteRequest => ({
    ...event,
    PhysicalResourceId: PHYSICAL_ID,
  });

  test.each<[string, () => Promise<FakeOpenSearch>, IsCompleteRequest, object, string[]]>([
    [
      'Create while the connection provisions: not complete, and no Data (the framework refuses it)',
      async () => {
        const fake = new FakeOpenSearch(5);
        await startReplication(spec, fake.deps());
        fake.calls.length = 0;
        return fake;
      },
      polled(request('Create')),
      { IsComplete: false },
      [],
    ],
    [
      'Create once ACTIVE: rules put, complete with the connection id',
      async () => {
        const fake = new FakeOpenSearch(1);
        await startReplication(spec, fake.deps());
        fake.calls.length = 0;
        return fake;
      },
      polled(request('Create')),
      { IsComplete: true, Data: { connectionId: 'conn-1' } },
      ['POST rule eu-west-1-pii', 'POST rule eu-west-1-public'],
    ],
    [
      'Update: rules of the old properties the new ones dropped are deleted',
      replicating,
      polled(
        request('Update', {
          ResourceProperties: props({ ...spec, rules: spec.rules.slice(1) }),
          OldResourceProperties: props(),
        }),
      ),
      { IsComplete: true, Data: { connectionId: 'conn-1' } },
      ['POST rule eu-west-1-public', 'DELETE rule eu-west-1-pii'],
    ],
    [
      'Delete while the connection is still live: not complete',
      replicating,
      polled(request('Delete')),
      { IsComplete: false },
      [],
    ],
    [
      'Delete once the connection is gone: complete',
      async () => new FakeOpenSearch(),
      polled(request('Delete')),
      { IsComplete: true },
      [],
    ],
    [
      'Delete of properties that never parsed: complete',
      replicating,
      polled(request('Delete', { ResourceProperties: {} })),
      { IsComplete: true },
      [],
    ],
  ])('%s', async (_name, given, event, answer, calls) => {
    const fake = await given();
    await expect(isComplete(event, fake.deps())).resolves.toEqual(answer);
    expect(others(fake.calls)).toEqual(calls);
  });

  test('a leader that rejects the connection fails the resource with a reason naming both domains', async () => {
    const fake = new FakeOpenSearch(1, true);
    await onEvent(request('Create'), fake.deps());
    await expect(isComplete(polled(request('Create')), fake.deps())).rejects.toThrow(
      /^connection from-eu-west-1 \(meridian-prod-euc1 → meridian-prod-euw1\) is missing/,
    );
  });
});

describe('handlers (index.ts)', () => {
  const ADMIN = 'arn:aws:iam::111111111111:role/SearchAdminRole';
  const requests: { url: string; method: string; headers: Record<string, string> }[] = [];
  let handlers: typeof import('../../lambda/opensearch-replication/index');
  const sts = mockClient(STSClient);
  const realFetch = globalThis.fetch;

  beforeAll(async () => {
    process.env.AWS_REGION = 'eu-central-1';
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    process.env.MERIDIAN_SEARCH_ADMIN_ROLE_ARN = ADMIN;
    sts.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'ASIAADMIN',
        SecretAccessKey: 'secret',
        SessionToken: 'admin-session',
        Expiration: new Date(Date.now() + 900_000),
      },
    });
    globalThis.fetch = (async (url: string, init: RequestInit) => {
      requests.push({
        url,
        method: String(init.method),
        headers: init.headers as Record<string, string>,
      });
      return new Response('{"acknowledged":true}', { status: 200 });
    }) as typeof fetch;
    handlers = await import('../../lambda/opensearch-replication/index');
  });
  afterAll(() => {
    globalThis.fetch = realFetch;
    sts.restore();
  });

  test('isComplete signs the auto-follow calls as the admin role (assumed once) for the follower’s endpoint', async () => {
    const fake = new FakeOpenSearch(1);
    await startReplication(spec, fake.deps());
    const event = { ...request('Create'), PhysicalResourceId: PHYSICAL_ID };
    await expect(handlers.isComplete(event)).resolves.toEqual({
      IsComplete: true,
      Data: { connectionId: 'conn-1' },
    });
    expect(requests.map((r) => [r.method, r.url])).toEqual([
      ['POST', `https://${spec.followerEndpoint}/_plugins/_replication/_autofollow`],
      ['POST', `https://${spec.followerEndpoint}/_plugins/_replication/_autofollow`],
    ]);
    for (const r of requests) {
      expect(r.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=ASIAADMIN\/\d{8}\/eu-central-1\/es\/aws4_request/,
      );
      expect(r.headers['x-amz-security-token']).toBe('admin-session');
    }
    expect(sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input.RoleArn)).toEqual([
      ADMIN,
    ]);
  });

  test('onEvent starts the connection with the function’s own role', async () => {
    new FakeOpenSearch().deps();
    await expect(handlers.onEvent(request('Create'))).resolves.toEqual({
      PhysicalResourceId: PHYSICAL_ID,
      Data: { connectionId: 'conn-1' },
    });
  });
});
