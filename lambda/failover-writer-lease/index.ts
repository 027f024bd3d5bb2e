/**
 * failover-writer-lease: in every Aurora region of a cell, every minute (EventBridge schedule),
 * six rounds 10 s apart: renew this region's writer lease in the cell's lock table, and fence or
 * unfence this region's own database and health sign as the answer asks
 * (../shared/failover/writer-keeper.ts, the table there). Thin: configuration read and checked
 * once at cold start; the database connection kept across rounds and invocations, made again
 * after an error.
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { Client } from 'pg';
import { EnvReader, REGION_ID } from '../shared/env';
import { fenceDatabase, fenceState, unfenceDatabase } from '../shared/failover/db-fence';
import { atFirstEndpoint } from '../shared/failover/endpoints';
import { perRegion } from '../shared/failover/handler';
import { type KeeperDeps, type KeeperMemory, keep } from '../shared/failover/writer-keeper';
import { renewWriterLease, WRITER_LEASE } from '../shared/failover/writer-lease';
import { logs, traceClient, tracedHandler } from '../shared/powertools';
import type { Db } from '../shared/sync/db';

const env = new EnvReader(process.env);
const config = {
  region: env.string('MERIDIAN_REGION', REGION_ID, 'an AWS region id'),
  cell: env.string('MERIDIAN_CELL', /^[a-z][a-z0-9-]{0,31}$/, 'a jurisdiction id'),
  table: env.string('MERIDIAN_LOCK_TABLE', /^[\w.-]{3,255}$/, 'a DynamoDB table name'),
  endpoints: env
    .string(
      'MERIDIAN_LOCK_ENDPOINTS',
      /^[a-z]{2}(-[a-z]+)+-\d(,[a-z]{2}(-[a-z]+)+-\d)*$/,
      'region ids, comma-separated, own first',
    )
    .split(','),
  initial: env.string('MERIDIAN_WRITER_INITIAL', /^(true|false)$/, 'true or false') === 'true',
  dbHost: env.string('MERIDIAN_DB_HOST', /^[A-Za-z0-9.-]+$/, "this region's cluster endpoint"),
  secretName: env.string('MERIDIAN_DB_SECRET_NAME', /^[\w/+=.@-]{1,512}$/, 'a secret name'),
  fenceParameter: env.string('MERIDIAN_FENCE_PARAMETER', /^\/[\w./-]{1,1000}$/, 'a parameter name'),
};
env.check('failover-writer-lease');

const { logger, tracer } = logs('failover-writer-lease');
const timeouts = { requestTimeout: WRITER_LEASE.callTimeoutMs, connectionTimeout: 1000 };
// One attempt each: the next endpoint, or the next round 10 s away, is the retry.
const dynamodb = perRegion((region) =>
  traceClient(tracer, new DynamoDBClient({ region, maxAttempts: 1, ...timeouts })),
);
const ssm = traceClient(tracer, new SSMClient({ region: config.region, maxAttempts: 2 }));
const secrets = new SecretsProvider({
  awsSdkV3Client: new SecretsManagerClient({ region: config.region }),
});
const ref = { table: config.table, cell: config.cell };

/** The connection to this region's own cluster, kept while it works. */
let client: Client | undefined;
async function db(): Promise<Db> {
  if (!client) {
    const s = JSON.parse((await secrets.get(config.secretName, { maxAge: 300 })) as string);
    const c = new Client({
      host: config.dbHost,
      port: Number(s.port ?? 5432),
      user: String(s.username),
      password: String(s.password),
      database: String(s.dbname ?? 'postgres'),
      ssl: { rejectUnauthorized: true },
      connectionTimeoutMillis: WRITER_LEASE.callTimeoutMs,
      statement_timeout: WRITER_LEASE.callTimeoutMs,
    });
    c.on('error', () => {
      client = undefined;
    });
    await c.connect();
    client = c;
  }
  const c = client;
  const run = async <T>(p: Promise<T>) =>
    p.catch((err) => {
      client = undefined;
      void c.end().catch(() => undefined);
      throw err;
    });
  return {
    query: (text, params) => run(c.query(text, params as unknown[]) as never),
    exec: (sql) => run(c.query(sql)),
  };
}

const memory: KeeperMemory = {};
const deps: KeeperDeps & { sleep(ms: number): Promise<void> } = {
  renew: (now) =>
    atFirstEndpoint(config.endpoints, (region) =>
      renewWriterLease(dynamodb(region), ref, config.region, { now, initial: config.initial }),
    ),
  db: {
    state: async () => fenceState(await db()),
    fence: async () => fenceDatabase(await db()),
    unfence: async () => unfenceDatabase(await db()),
  },
  sign: async (wanted) => {
    await ssm.send(
      new PutParameterCommand({
        Name: config.fenceParameter,
        Value: wanted,
        Type: 'String',
        Overwrite: true,
      }),
    );
  },
  now: () => Date.now(),
  sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

export const handler = tracedHandler(
  tracer,
  async (_event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>) => {
    const deadline = Date.now() + (context?.getRemainingTimeInMillis() ?? 60_000);
    const rounds = await keep(deps, memory, deadline);
    const changed = rounds.filter(
      (r) => r.db === 'fenced' || r.db === 'unfenced' || r.lease === 'no-answer',
    );
    // The log line an on-call engineer searches for: regions, leases and actions, no data.
    if (changed.length > 0) logger.warn('writer lease not renewed, or fence changed', { changed });
    else logger.info('writer lease', { rounds: rounds.length, last: rounds.at(-1) });
    return { rounds: rounds.length, fenced: memory.sign === 'fenced' };
  },
);
