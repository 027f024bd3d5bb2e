import {
  AcceptInboundConnectionCommand,
  CreateOutboundConnectionCommand,
  DeleteOutboundConnectionCommand,
  DescribeOutboundConnectionsCommand,
  OpenSearchClient,
} from '@aws-sdk/client-opensearch';
import { mockClient } from 'aws-sdk-client-mock';
import {
  type CustomResourceEvent,
  handleEvent,
  InvalidPropertiesError,
  parseSpec,
} from '../../lambda/opensearch-replication/custom-resource';
import {
  ensureReplication,
  type ReplicationDeps,
  ReplicationError,
  type ReplicationSpec,
  removeReplication,
} from '../../lambda/opensearch-replication/replication';

/**
 * A stateful fake of the OpenSearch connection API across regions: connections live in the
 * follower's region; accepting happens in the leader's; accepted connections turn ACTIVE after
 * `activateAfter` describes.
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
      sleep: async () => undefined,
      polls: 5,
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

describe('cross-cluster replication steps', () => {
  test('create: outbound connection from the follower, accepted in the leader’s region, then the rules', async () => {
    const fake = new FakeOpenSearch();
    const { connectionId } = await ensureReplication(spec, fake.deps());
    expect(connectionId).toBe('conn-1');
    expect(fake.connections.get('conn-1')?.status).toBe('ACTIVE');
    expect([...fake.rules]).toEqual([
      ['eu-west-1-pii', 'pii-*'],
      ['eu-west-1-public', 'public-*'],
    ]);
    expect(fake.calls.filter((c) => !c.startsWith('client'))).toEqual([
      'create meridian-prod-euc1->meridian-prod-euw1',
      'accept conn-1',
      'POST rule eu-west-1-pii',
      'POST rule eu-west-1-public',
    ]);
    expect(fake.calls).toContain('client eu-west-1');
  });

  test('idempotent: running it again creates nothing new and tolerates existing rules', async () => {
    const fake = new FakeOpenSearch();
    const deps = fake.deps();
    await ensureReplication(spec, deps);
    fake.calls.length = 0;
    await ensureReplication(spec, deps);
    expect(fake.connections.size).toBe(1);
    expect(fake.calls.filter((c) => c.startsWith('create') || c.startsWith('accept'))).toEqual([]);
  });

  test('update: rules dropped from the spec are deleted', async () => {
    const fake = new FakeOpenSearch();
    const deps = fake.deps();
    await ensureReplication(spec, deps);
    await ensureReplication(
      { ...spec, rules: [{ name: 'eu-west-1-public', pattern: 'public-*' }] },
      deps,
      spec.rules,
    );
    expect([...fake.rules.keys()]).toEqual(['eu-west-1-public']);
  });

  test('delete: rules and connection removed; a second delete is a no-op', async () => {
    const fake = new FakeOpenSearch();
    const deps = fake.deps();
    await ensureReplication(spec, deps);
    await removeReplication(spec, deps);
    expect(fake.rules.size).toBe(0);
    expect(fake.connections.size).toBe(0);
    await expect(removeReplication(spec, deps)).resolves.toBeUndefined();
  });

  test('a leader that rejects the connection is an error naming both domains', async () => {
    const fake = new FakeOpenSearch(1, true);
    await expect(ensureReplication(spec, fake.deps())).rejects.toThrow(
      new ReplicationError(
        'connection conn-1 (meridian-prod-euc1 → meridian-prod-euw1) is missing, not ACTIVE',
      ),
    );
  });

  test('a connection that never turns ACTIVE fails after the configured polls', async () => {
    const fake = new FakeOpenSearch(100);
    const sleeps: number[] = [];
    await expect(
      ensureReplication(
        spec,
        fake.deps({ polls: 3, pollIntervalMs: 7, sleep: async (ms) => void sleeps.push(ms) }),
      ),
    ).rejects.toThrow('is PROVISIONING, not ACTIVE');
    expect(sleeps).toEqual([7, 7, 7]);
  });

  test('an auto-follow rule the domain refuses is an error with the HTTP answer', async () => {
    const fake = new FakeOpenSearch();
    const deps = fake.deps({
      http: async () => ({
        status: 403,
        body: 'no permissions for [cluster:admin/plugins/replication]',
      }),
    });
    await expect(ensureReplication(spec, deps)).rejects.toThrow(
      'auto-follow rule eu-west-1-pii (pii-*): HTTP 403 no permissions for [cluster:admin/plugins/replication]',
    );
  });
});

describe('custom-resource protocol', () => {
  const event = (
    type: CustomResourceEvent['RequestType'],
    props: Record<string, unknown> = spec as unknown as Record<string, unknown>,
  ): CustomResourceEvent => ({
    RequestType: type,
    ResponseURL: 'https://cloudformation-response.example/put',
    StackId: 'stack',
    RequestId: 'req',
    LogicalResourceId: 'Ccr',
    ResourceProperties: props,
  });

  test('answers SUCCESS with a stable physical id and the connection id', async () => {
    const answers: unknown[] = [];
    await handleEvent(
      event('Create'),
      new FakeOpenSearch().deps(),
      async (_u, body) => void answers.push(JSON.parse(body)),
    );
    expect(answers).toEqual([
      expect.objectContaining({
        Status: 'SUCCESS',
        PhysicalResourceId: 'ccr:eu-west-1/meridian-prod-euw1->eu-central-1/meridian-prod-euc1',
        Data: { connectionId: 'conn-1' },
      }),
    ]);
  });

  test('answers FAILED with the reason instead of leaving the stack waiting', async () => {
    const answers: { Status: string; Reason: string }[] = [];
    await handleEvent(
      event('Create'),
      new FakeOpenSearch(1, true).deps(),
      async (_u, body) => void answers.push(JSON.parse(body)),
    );
    expect(answers[0]?.Status).toBe('FAILED');
    expect(answers[0]?.Reason).toMatch(/^ReplicationError: connection conn-1/);
  });

  test('malformed properties fail Create with every fault, and let Delete succeed', async () => {
    expect(() => parseSpec({ leader: {}, rules: 'x' })).toThrow(
      new InvalidPropertiesError(
        'rules: expected a list; leader.domainName: expected a non-empty string; leader.region: expected a non-empty string; leader.account: expected a non-empty string; follower.domainName: expected a non-empty string; follower.region: expected a non-empty string; follower.account: expected a non-empty string; followerEndpoint: expected a non-empty string; connectionAlias: expected a non-empty string',
      ),
    );
    const answers: { Status: string }[] = [];
    await handleEvent(
      event('Delete', {}),
      new FakeOpenSearch().deps(),
      async (_u, body) => void answers.push(JSON.parse(body)),
    );
    expect(answers[0]?.Status).toBe('SUCCESS');
  });
});
