/**
 * The sync tables at deploy (issue 17 item 5): the `Custom::MeridianSyncSchema` resource of every
 * region of a cell runs the migrations (migrations.ts: ordered, each once, serialised by an
 * advisory lock) on the region's database when it is the cell's writer. A secondary's database is
 * a replica of the writer's, so there it only reports the version it holds. Deleting the resource
 * drops nothing: the tables hold records.
 */
import { type Db, takesWrites } from './db';
import { migrate, SCHEMA_VERSION } from './migrations';

export interface SchemaEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: { readonly Version?: string };
}

export interface SchemaResponse {
  readonly PhysicalResourceId: string;
  readonly Data: Readonly<Record<string, string>>;
}

export const SCHEMA_RESOURCE_ID = 'meridian-sync-schema';

async function heldVersion(db: Db): Promise<number> {
  const r = await db.query<{ v: number | null }>(
    `SELECT max(version) AS v FROM meridian_schema_version`,
  );
  return Number(r.rows[0]?.v ?? 0);
}

export async function onSchemaEvent(
  event: SchemaEvent,
  connect: () => Promise<Db>,
): Promise<SchemaResponse> {
  const PhysicalResourceId = event.PhysicalResourceId ?? SCHEMA_RESOURCE_ID;
  if (event.RequestType === 'Delete') return { PhysicalResourceId, Data: {} };
  const wanted = Number(event.ResourceProperties.Version ?? SCHEMA_VERSION);
  if (wanted > SCHEMA_VERSION)
    throw new Error(
      `the template asks for sync schema version ${wanted}, this code knows up to ${SCHEMA_VERSION}`,
    );
  const db = await connect();
  if (!(await takesWrites(db))) {
    // Aurora replicates the writer's tables here; deploy the cell's writer region first.
    const held = await heldVersion(db).catch(() => 0);
    return { PhysicalResourceId, Data: { Role: 'replica', Version: String(held), Applied: '' } };
  }
  const applied = await migrate(db);
  return {
    PhysicalResourceId,
    Data: { Role: 'writer', Version: String(await heldVersion(db)), Applied: applied.join(',') },
  };
}
