/**
 * The EU subject-request state machine as the minimal fixture synthesizes it (run from eu-west-1),
 * executed offline by aws-local-stepfunctions: its one Task runs the real relay handler with the
 * environment its template gives it; Lambda's Invoke reaches each region's part
 * (handleSubjectRequest on that region's own Postgres and the buckets its template names), and
 * fails as a region that cannot be reached fails. Cells eu (eu-west-1 writer, eu-central-1 reader)
 * and us (us-east-1, masked copies): three regions, two jurisdictions.
 */

import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { RequestRecord } from '../../lambda/shared/dsr/relay';
import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import type { Db } from '../../lambda/shared/sync/db';
import { recordChanges } from '../../lambda/shared/sync/replica-store';
import { SubjectRequestWorld } from '../../lib/dsr/drill/world';
import type { DrillResult } from '../../lib/failover/drill/run';
import { Naming } from '../../lib/naming';
import { buildApp } from '../support/app';
import { openTestDb } from '../support/db';
import { loadHandler as load, minimalRunbooks } from '../support/drill';
import { load as loadConfig, MINIMAL } from '../support/fixture';
import { change, uuid } from '../sync/events';

const runbook = minimalRunbooks();
const machine = runbook('eu-west-1', 'subject-requests');
const index = new ResidencyIndex(loadConfig(MINIMAL).plan);
const naming = new Naming('meridian', 'prod');
const REGIONS = ['eu-west-1', 'eu-central-1', 'us-east-1'] as const;
type RegionId = (typeof REGIONS)[number];
const T = Date.now();
const DEADLINE = new Date(T + 30 * 86_400_000).toISOString();

/** Each region's subject-request function as its own template defines it (name, buckets). */
const deployed = Object.fromEntries(
  REGIONS.map((r) => {
    const name = naming.subjectRequestFunction(r);
    const fn = runbook(r).named.get(name);
    if (!fn) throw new Error(`no ${name} in the ${r} template`);
    return [r, { name, ...fn }];
  }),
) as Record<RegionId, { name: string; handler: string; env: Record<string, string> }>;
const relayEnv = [...machine.tasks.values()][0]?.env ?? {};

const subject = (seed: string, key: string, name: string) =>
  change({
    seed,
    dataClass: 'pii',
    entityType: 'customer',
    entityKey: key,
    homeRegion: 'eu-west-1',
    originRegion: 'eu-west-1',
    hlc: { wall: T, logical: 0 },
    payload: { customerId: key.toUpperCase(), name, email: `${key}@example.com` },
  });
const marie = subject('dsr-machine-1', 'c-machine-1', 'Marie Curie');

const start = (
  action: 'access' | 'erase' | 'rectify',
  seed: string,
  over: Record<string, unknown> = {},
) => ({
  request: {
    requestId: uuid(seed),
    action,
    jurisdiction: 'eu',
    entities: [{ entityType: 'customer', entityKey: 'c-machine-1' }],
    at: { wall: T + 5, logical: 0 },
    ...over,
  },
  deadline: DEADLINE,
});

describe('the subject-request state machine, executed', () => {
  let world: SubjectRequestWorld;
  let t = 0;
  const clock = { advance: (ms: number) => (t += ms) };
  const drill = (input: unknown, name: string): Promise<DrillResult> =>
    world.run(input, name, { load, clock });
  const db = (r: RegionId) => world.dbs.get(r)?.db as Db;
  const objectsOf = (r: RegionId) => world.s3.keys(deployed[r].env.MERIDIAN_DATA_BUCKET as string);
  const seedObjects = async () => {
    const where: Record<RegionId, string> = {
      'eu-west-1': 'pii',
      'eu-central-1': 'pii',
      'us-east-1': 'masked/eu/pii',
    };
    for (const r of REGIONS)
      await new S3Client({ region: r }).send(
        new PutObjectCommand({
          Bucket: deployed[r].env.MERIDIAN_DATA_BUCKET,
          Key: `${where[r]}/customer/c-machine-1/profile.json`,
          Body: '{"name":"Marie Curie"}',
        }),
      );
  };
  /** The subject's documents (and another's) where the plan's search replication puts them. */
  const seedSearch = () => {
    const search = world.search;
    const doc = (key: string, name: string) => ({ entityType: 'customer', entityKey: key, name });
    const docs = { a: doc('c-machine-1', 'Marie Curie'), b: doc('c-other-1', 'Lise Meitner') };
    // eu-west-1 leads its class index and the masked projection for the US; eu-central-1 follows
    // the first (full copies in the cell), us-east-1 the second (masked, as the plan exports it).
    search.seed(naming.searchDomain('eu-west-1'), 'pii-customers', docs);
    search.seed(naming.searchDomain('eu-west-1'), 'masked-us-pii-customers', {
      a: { ...doc('c-machine-1', 'pz_masked'), email: 'pz_masked_email' },
    });
    search.connect(naming.searchDomain('eu-central-1'), naming.searchDomain('eu-west-1'));
    search.connect(naming.searchDomain('us-east-1'), naming.searchDomain('eu-west-1'));
    search.follow(naming.searchDomain('eu-central-1'), 'pii-customers', 'eu-west-1');
    search.follow(naming.searchDomain('us-east-1'), 'masked-us-pii-customers', 'eu-west-1');
    // us-east-1's own US customers: not the subject's.
    search.seed(naming.searchDomain('us-east-1'), 'pii-customers', { c: doc('c-us-1', 'Ada') });
  };
  /** Every document of the subject left in any region's domain. */
  const subjectDocs = () =>
    REGIONS.flatMap((r) =>
      [...world.search.domain(naming.searchDomain(r)).indices].flatMap(([index, i]) =>
        [...i.docs.values()]
          .filter((d) => d.entityKey === 'c-machine-1')
          .map(() => `${r} ${index}`),
      ),
    );

  beforeAll(async () => {
    world = await SubjectRequestWorld.open(loadConfig(MINIMAL), index, 'eu', runbook, openTestDb);
    seedSearch();
    await recordChanges(db('eu-west-1'), [marie], () => 'lww');
    await recordChanges(db('us-east-1'), [marie], () => 'lww');
  });
  beforeEach(() => {
    world.invoked.length = 0;
    world.alerts.length = 0;
    world.down.clear();
    t = 0;
  });
  afterAll(() => world.close());

  test('its relay may reach the subject-request function of each reached region, by the name that region deploys', () => {
    expect(new Set([...machine.tasks.values()].map((x) => x.handler))).toEqual(
      new Set(['dsr-relay']),
    );
    const cells = JSON.parse(relayEnv.MERIDIAN_DSR_CELLS ?? '[]') as {
      cell: string;
      regions: { region: RegionId; functionName: string }[];
    }[];
    expect(cells.map((c) => [c.cell, c.regions.map((r) => r.region)])).toEqual([
      ['eu', ['eu-west-1', 'eu-central-1']],
      ['us', ['us-east-1']],
    ]);
    for (const r of cells.flatMap((c) => c.regions))
      expect(deployed[r.region]).toMatchObject({ name: r.functionName, handler: 'dsr-region' });
  });

  test('erasure: every region of both cells acts, the writers erase the tables, the request record says complete', async () => {
    await seedObjects();
    const r = await drill(start('erase', 'machine-erase'), 'erase-1');
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('SUCCEEDED');
    const out = r.output as unknown as RequestRecord & { record: string };
    expect(out.outcome).toBe('complete');
    expect(out.gaps).toEqual([]);
    expect(out.cells.map((c) => [c.cell, c.writer, c.regions.map((x) => x.database)])).toEqual([
      ['eu', 'eu-west-1', ['writer', 'reader']],
      ['us', 'us-east-1', ['writer']],
    ]);
    // Home cell first, then the other.
    expect(world.invoked).toEqual(expect.arrayContaining(['eu-west-1', 'eu-central-1']));
    expect(world.invoked.at(-1)).toBe('us-east-1');
    for (const region of REGIONS) expect(objectsOf(region)).toEqual([]);
    // Search: erased where it leads (eu-west-1); the followers take it when replication catches up.
    expect(out.cells[0]?.regions.map((x) => x.region)).toEqual(['eu-west-1', 'eu-central-1']);
    expect(subjectDocs()).toEqual([
      'eu-central-1 pii-customers',
      'us-east-1 masked-us-pii-customers',
    ]);
    world.search.replicate();
    expect(subjectDocs()).toEqual([]);
    expect(
      world.search.domain(naming.searchDomain('eu-central-1')).indices.get('pii-customers')?.docs
        .size,
    ).toBe(1);
    expect(
      world.search.domain(naming.searchDomain('us-east-1')).indices.get('pii-customers')?.docs.size,
    ).toBe(1);
    for (const region of ['eu-west-1', 'us-east-1'] as const) {
      const left = await db(region).query('SELECT 1 FROM meridian_replica');
      expect(left.rows).toEqual([]);
    }
    // The request record, in the machine region's Object Lock audit bucket: ids, regions, counts.
    const audit = relayEnv.MERIDIAN_AUDIT_BUCKET as string;
    expect(out.record).toMatch(
      new RegExp(
        `^s3://${audit}/dsr/requests/\\d{4}/\\d\\d/\\d\\d/${uuid('machine-erase')}\\.json$`,
      ),
    );
    const kept = world.s3.bodies(audit).join('\n');
    expect(kept).toContain(uuid('machine-erase'));
    expect(kept).not.toMatch(/Marie|Curie|c-machine-1|C-MACHINE-1/);
  });

  test('a region that does not answer is retried with backoff, and the request completes', async () => {
    await seedObjects();
    world.down.set('us-east-1', 2);
    const r = await drill(start('erase', 'machine-retry'), 'erase-2');
    expect(r.status).toBe('SUCCEEDED');
    expect(r.events.filter((e) => e.type === 'retried').map((e) => e.state)).toEqual([
      'In us-east-1',
      'In us-east-1',
    ]);
    // 1 minute, then 2 (REGION_RETRY), beside each step's modelled Lambda time.
    expect(t).toBeGreaterThanOrEqual(3 * 60_000);
    expect(objectsOf('us-east-1')).toEqual([]);
  });

  test('a region down for good: the others still act, the run fails as incomplete naming it, and alerts', async () => {
    await seedObjects();
    world.down.set('us-east-1', 1000);
    const r = await drill(start('erase', 'machine-down'), 'erase-3');
    expect(r.status).toBe('FAILED');
    expect(r.errorName).toBe('SubjectRequestIncomplete');
    expect(world.invoked.filter((x) => x === 'us-east-1')).toHaveLength(11);
    expect(objectsOf('eu-west-1')).toEqual([]);
    expect(objectsOf('us-east-1')).toEqual(['masked/eu/pii/customer/c-machine-1/profile.json']);
    const [alert] = world.alerts as RequestRecord[];
    expect(alert?.outcome).toBe('incomplete');
    expect(alert?.gaps).toEqual([
      'cell us: no region of it answered',
      'us-east-1: not reached after the retries (RegionUnreachable)',
    ]);
    expect(JSON.stringify(world.alerts)).not.toMatch(/Marie|Curie|c-machine-1/);
  });

  test('a cell without a writer (a failover under way) is a gap, not a success', async () => {
    world.readers.add('eu-west-1');
    try {
      const r = await drill(start('erase', 'machine-no-writer'), 'erase-4');
      expect([r.status, r.errorName]).toEqual(['FAILED', 'SubjectRequestIncomplete']);
      const [alert] = world.alerts as RequestRecord[];
      expect(alert?.gaps).toEqual([
        'cell eu: no region answered as its writer, so its tables are not erased (a failover under way?): run the request again once the cell has one',
      ]);
    } finally {
      world.readers.delete('eu-west-1');
    }
  });

  test('access: one region per cell, the next one of the cell when the first does not answer', async () => {
    world.down.set('eu-west-1', 1000);
    const r = await drill(start('access', 'machine-access'), 'access-1');
    expect(r.error).toBeUndefined();
    const out = r.output as unknown as RequestRecord;
    expect(out.outcome).toBe('complete');
    expect(out.cells.map((c) => c.regions.map((x) => [x.region, x.exports]))).toEqual([
      [['eu-central-1', 1]],
      [['us-east-1', 1]],
    ]);
    expect(world.invoked).toEqual(['eu-west-1', 'eu-central-1', 'us-east-1']);
  });

  test('rectification acts in every region and is complete only once the correction is everywhere', async () => {
    const corrected = { ...subject('dsr-machine-fix', 'c-machine-1', 'Marie Skłodowska-Curie') };
    const fixed = { ...corrected, hlc: { wall: T + 100, logical: 0 } };
    for (const r of ['eu-west-1', 'eu-central-1'] as const) {
      await db(r).exec('SET default_transaction_read_only = off');
      await recordChanges(db(r), [fixed], () => 'lww');
    }
    const fix = start('rectify', 'machine-rectify', { at: { wall: T + 99, logical: 0 } });
    const first = await drill(fix, 'rectify-1');
    expect([first.status, first.errorName]).toEqual(['FAILED', 'SubjectRequestIncomplete']);
    const [alert] = world.alerts as RequestRecord[];
    expect(alert?.gaps).toEqual([
      'us-east-1: the corrected version of 1 entity has not arrived yet (sync): run the request again later',
    ]);
    // Sync brings it; the same request, run again under another execution name, completes.
    await recordChanges(db('us-east-1'), [fixed], () => 'lww');
    const again = await drill(fix, 'rectify-2');
    expect(again.error).toBeUndefined();
    expect((again.output as unknown as RequestRecord).outcome).toBe('complete');
    expect(world.invoked.filter((r) => r === 'us-east-1')).toHaveLength(2);
  });

  test('a request of another jurisdiction, or a hostile one, is refused and nothing acts', async () => {
    const other = await drill(start('erase', 'machine-us', { jurisdiction: 'us' }), 'refused-1');
    expect(other.status).toBe('FAILED');
    expect(other.errorName).toBe('SubjectRequestRejected');
    const hostile = await drill(
      start('erase', 'machine-bad', {
        entities: [{ entityType: 'customer', entityKey: "x' OR '1'='1" }],
      }),
      'refused-2',
    );
    expect(hostile.status).toBe('FAILED');
    expect(hostile.errorName).toBe('SubjectRequestRejected');
    expect(world.invoked).toEqual([]);
  });
});

test("every region with Aurora runs its jurisdiction's machine; its relay may invoke those functions only, and its logs hold no execution data", () => {
  const config = loadConfig(MINIMAL);
  const built = buildApp(config);
  for (const region of REGIONS) {
    const t = built.template(region);
    const [machineDef] = Object.values(t.findResources('AWS::StepFunctions::StateMachine')).filter(
      (m) => m.Properties.StateMachineName === naming.subjectRequestMachine(region),
    );
    expect(machineDef?.Properties.LoggingConfiguration).toMatchObject({
      IncludeExecutionData: false,
      Level: 'ALL',
    });
    const [relayId, relay] =
      Object.entries(t.findResources('AWS::Lambda::Function')).find(
        ([, f]) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'dsr-relay',
      ) ?? [];
    expect(relayId).toBeDefined();
    const cells = JSON.parse(relay?.Properties.Environment.Variables.MERIDIAN_DSR_CELLS) as {
      regions: { region: string; functionName: string }[];
    }[];
    const role = relay?.Properties.Role['Fn::GetAtt'][0];
    const invokes = Object.values(t.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(role))
      .flatMap(
        (p) => p.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[],
      )
      .filter((st) => [st.Action].flat().includes('lambda:InvokeFunction'))
      .flatMap((st) => [st.Resource].flat())
      .map((r) =>
        JSON.stringify(r).replace(/.*:lambda:([a-z0-9-]+):\d+:function:([^"]+)".*/, '$1 $2'),
      );
    expect(invokes.sort()).toEqual(
      cells.flatMap((c) => c.regions.map((r) => `${r.region} ${r.functionName}`)).sort(),
    );
  }
});
