/**
 * (Drill and test support: not deployed.)
 * The offline drill of a jurisdiction's subject-request state machine: the machine is taken from
 * the synthesized template of the home cell's primary region and executed (lib/failover/drill/
 * run.ts, aws-local-stepfunctions) with its relay's real handler; Lambda's Invoke reaches each
 * region's part (handleSubjectRequest) on that region's own Postgres (PGlite in process), the
 * buckets its template names (a versioned fake S3) and its search domain (the OpenSearch fake with
 * cross-cluster replication). A region can be down (the invoke times out, as a partition does)
 * or have no writer.
 *
 * What it models of a cell: its primary holds the subject's rows; its other regions are readers
 * (their database takes no writes) with their own empty tables, since Aurora would give them the
 * writer's rows and erasure there is the writer's. Timing: none but the state machine's own retry
 * backoff, taken from the template.
 */

import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { handleSubjectRequest } from '../../../lambda/shared/dsr/handle';
import { subjectPrefixes } from '../../../lambda/shared/dsr/objects';
import { SUBJECT_TABLES } from '../../../lambda/shared/dsr/postgres';
import type { RelayCell } from '../../../lambda/shared/dsr/relay';
import { subjectIndexPatterns } from '../../../lambda/shared/dsr/search';
import { type EntityRef, personalClasses } from '../../../lambda/shared/dsr/subject';
import type { ResidencyIndex } from '../../../lambda/shared/residency-plan';
import { type Db, pgliteDb } from '../../../lambda/shared/sync/db';
import type { ChangeEvent } from '../../../lambda/shared/sync/events';
import { migrate } from '../../../lambda/shared/sync/migrations';
import { recordChanges } from '../../../lambda/shared/sync/replica-store';
import type { MeridianConfig } from '../../config/load';
import { FakeOpenSearch } from '../../failover/drill/fake-opensearch';
import {
  type DrillResult,
  runDrill,
  type SynthesizedRunbook,
  synthesizedRunbooks,
} from '../../failover/drill/run';
import { Naming } from '../../naming';
import { dsrCells } from '../plan';
import { FakeS3 } from './fake-s3';

export interface DeployedPart {
  readonly name: string;
  readonly env: Record<string, string>;
}

/** A region's database: a Postgres of its own. */
export interface DrillDb {
  readonly db: Db;
  close(): Promise<void>;
}

/** PGlite in process, with the sync migrations (no server needed). */
export async function pgliteDrillDb(): Promise<DrillDb> {
  const { PGlite } = await import('@electric-sql/pglite');
  const pg = await PGlite.create();
  const db = pgliteDb(pg);
  await migrate(db);
  return { db, close: () => pg.close() };
}

export class SubjectRequestWorld {
  readonly s3: FakeS3;
  readonly search = new FakeOpenSearch();
  /** Regions that do not answer, and for how many more invokes (Infinity: for good). */
  readonly down = new Map<string, number>();
  /** Regions whose database takes no writes. */
  readonly readers = new Set<string>();
  /** Every region an invoke reached for (in order), down or not. */
  readonly invoked: string[] = [];
  /** The SNS alerts the machine published (their Message). */
  readonly alerts: unknown[] = [];
  private readonly lambda = mockClient(LambdaClient);

  private constructor(
    readonly machine: SynthesizedRunbook,
    readonly cells: readonly RelayCell[],
    readonly deployed: ReadonlyMap<string, DeployedPart>,
    readonly dbs: ReadonlyMap<string, DrillDb>,
    readonly index: ResidencyIndex,
    readonly naming: Naming,
  ) {
    const relayEnv = [...machine.tasks.values()][0]?.env ?? {};
    this.s3 = new FakeS3([
      relayEnv.MERIDIAN_AUDIT_BUCKET ?? '',
      ...[...deployed.values()].flatMap((d) => [
        d.env.MERIDIAN_AUDIT_BUCKET ?? '',
        d.env.MERIDIAN_DATA_BUCKET ?? '',
      ]),
    ]);
    for (const r of deployed.keys()) this.search.addDomain(r, naming.searchDomain(r));
    for (const c of cells) for (const r of c.regions.slice(1)) this.readers.add(r.region);
    this.lambda.on(InvokeCommand).callsFake(async (input, getClient) => {
      const region = await getClient().config.region();
      return this.invoke(region, String(input.FunctionName), input.Payload as Uint8Array);
    });
  }

  /**
   * The world of `jurisdiction`'s machine, from the templates of `config` (synthesized once by
   * `runbooks`): its cells and regions as the relay's environment names them, each region's part
   * as that region's template deploys it, and a Postgres per region.
   */
  static async open(
    config: MeridianConfig,
    index: ResidencyIndex,
    jurisdiction: string,
    runbooks = synthesizedRunbooks(config),
    openDb: () => Promise<DrillDb> = pgliteDrillDb,
  ): Promise<SubjectRequestWorld> {
    const home = dsrCells(index, jurisdiction)[0]?.primary;
    if (!home) throw new Error(`drill: no cell of ${jurisdiction}`);
    const machine = runbooks(home, 'subject-requests');
    const cells = JSON.parse(
      [...machine.tasks.values()][0]?.env.MERIDIAN_DSR_CELLS ?? '[]',
    ) as RelayCell[];
    const deployed = new Map<string, DeployedPart>();
    const dbs = new Map<string, DrillDb>();
    for (const { region, functionName } of cells.flatMap((c) => c.regions)) {
      const fn = runbooks(region).named.get(functionName);
      if (!fn) throw new Error(`drill: the ${region} template deploys no ${functionName}`);
      deployed.set(region, { name: functionName, env: fn.env });
      dbs.set(region, await openDb());
    }
    return new SubjectRequestWorld(
      machine,
      cells,
      deployed,
      dbs,
      index,
      new Naming(config.global.platform, config.env),
    );
  }

  /**
   * The subject's copies where the plan puts them: its record in each cell primary's tables (in
   * full at home, masked beyond), an object under each region's class prefix, and search documents
   * in the home primary's indices (full and one masked projection per other cell), followed by the
   * home cell's other regions and the other cells' primaries.
   */
  async seed(version: ChangeEvent, masked: Record<string, unknown>): Promise<void> {
    const [home, ...others] = this.cells;
    if (!home) return;
    const cls = version.dataClass;
    const { entityType: type, entityKey: key } = version;
    for (const c of this.cells) {
      const primary = c.regions[0]?.region as string;
      const v = c === home ? version : { ...version, payload: masked };
      await recordChanges(this.db(primary), [v], () => 'lww');
      // Beyond the home the copy came by sync, not as a local write: nothing to send on.
      if (c !== home) await this.db(primary).exec('DELETE FROM meridian_outbox');
      for (const { region } of c.regions) {
        const prefix =
          c === home ? `${cls}/${type}/${key}/` : `masked/${c.cell}/${cls}/${type}/${key}/`;
        await new S3Client({ region }).send(
          new PutObjectCommand({
            Bucket: this.deployed.get(region)?.env.MERIDIAN_DATA_BUCKET,
            Key: `${prefix}profile.json`,
            Body: JSON.stringify(c === home ? version.payload : masked),
          }),
        );
      }
    }
    const leader = this.naming.searchDomain(home.regions[0]?.region as string);
    const doc = (payload: Record<string, unknown>) => ({
      entityType: type,
      entityKey: key,
      ...payload,
    });
    this.search.seed(leader, `${cls}-${type}`, { [key]: doc(version.payload) });
    for (const { region } of home.regions.slice(1)) {
      this.search.connect(this.naming.searchDomain(region), leader);
      this.search.follow(
        this.naming.searchDomain(region),
        `${cls}-${type}`,
        home.regions[0]?.region as string,
      );
    }
    for (const c of others) {
      const index = `masked-${c.cell}-${cls}-${type}`;
      this.search.seed(leader, index, { [key]: doc(masked) });
      const follower = this.naming.searchDomain(c.regions[0]?.region as string);
      this.search.connect(follower, leader);
      this.search.follow(follower, index, home.regions[0]?.region as string);
    }
  }

  /** Executes the machine once with `input` (the payload `npm run dsr` writes). */
  run(
    input: unknown,
    name: string,
    o: Pick<Parameters<typeof runDrill>[2], 'load' | 'clock'> = {},
  ): Promise<DrillResult> {
    return runDrill(this.machine, input as never, {
      name,
      ...o,
      // The SNS publish's parameters: its Message is the request record.
      notify: (_state, message) => this.alerts.push((message as { Message?: unknown }).Message),
    });
  }

  /** Every place `entity` is still found: rows of the five tables, object versions, documents. */
  async traces(entity: EntityRef): Promise<string[]> {
    const found: string[] = [];
    for (const [region, d] of this.dbs)
      for (const t of Object.values(SUBJECT_TABLES)) {
        const r = await d.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${t} WHERE entity_type = $1 AND entity_key = $2`,
          [entity.entityType, entity.entityKey],
        );
        if ((r.rows[0]?.n ?? 0) > 0) found.push(`${region} ${t}: ${r.rows[0]?.n} row(s)`);
      }
    for (const [region, part] of this.deployed) {
      const bucket = part.env.MERIDIAN_DATA_BUCKET ?? '';
      const keys = this.s3
        .keys(bucket)
        .filter((k) => k.includes(`/${entity.entityType}/${entity.entityKey}/`));
      if (keys.length > 0) found.push(`${region} data bucket: ${keys.length} object(s)`);
      for (const [index, i] of this.search.domain(this.naming.searchDomain(region)).indices)
        for (const d of i.docs.values())
          if (d.entityType === entity.entityType && d.entityKey === entity.entityKey)
            found.push(`${region} search ${index}: a document`);
    }
    return found;
  }

  restore(): void {
    this.lambda.restore();
    this.s3.restore();
    this.search.restore();
  }

  async close(): Promise<void> {
    this.restore();
    for (const d of this.dbs.values()) await d.close();
  }

  private db(region: string): Db {
    const d = this.dbs.get(region);
    if (!d) throw new Error(`drill: no database for ${region}`);
    return d.db;
  }

  /** Lambda's Invoke of `name` in `region`, as AWS answers it. */
  private async invoke(region: string, name: string, payload: Uint8Array) {
    this.invoked.push(region);
    const left = this.down.get(region);
    if (left !== undefined) {
      if (left <= 1) this.down.delete(region);
      else this.down.set(region, left - 1);
      throw Object.assign(new Error(`connect ETIMEDOUT lambda.${region}.amazonaws.com:443`), {
        name: 'TimeoutError',
      });
    }
    const part = this.deployed.get(region);
    if (!part || part.name !== name)
      throw Object.assign(new Error(`Function not found: ${name}`), {
        name: 'ResourceNotFoundException',
      });
    const db = this.db(region);
    await db.exec(`SET default_transaction_read_only = ${this.readers.has(region) ? 'on' : 'off'}`);
    const encode = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    try {
      const out = await handleSubjectRequest(
        {
          db,
          s3: new S3Client({ region }),
          region,
          auditBucket: part.env.MERIDIAN_AUDIT_BUCKET ?? '',
          dataBucket: part.env.MERIDIAN_DATA_BUCKET ?? '',
          prefixesOf: (e) => subjectPrefixes(this.index, e),
          ...(part.env.MERIDIAN_SEARCH_ENDPOINT
            ? {
                search: {
                  http: async () => this.search.http(this.naming.searchDomain(region)),
                  patterns: subjectIndexPatterns(personalClasses(this.index)),
                },
              }
            : {}),
        },
        JSON.parse(new TextDecoder().decode(payload)),
      );
      return { StatusCode: 200, Payload: encode(out) };
    } catch (err) {
      return {
        StatusCode: 200,
        FunctionError: 'Unhandled',
        Payload: encode({ errorType: (err as Error).name, errorMessage: (err as Error).message }),
      };
    }
  }
}
