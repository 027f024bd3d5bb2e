#!/usr/bin/env node
/**
 * npm run lineage -- --event <id> | --entity-token <pz_…> | --entity <type:key> --key-file <f>
 *                    [--from <dir>] [--region <r>] [--since YYYY-MM-DD] [--env prod]
 *
 * Where did a record go, masked how, under which rule, and where is it now. Without --from it
 * prints, per region, the Athena query over that region's audit database and the `aws athena`
 * line that runs it (it runs nothing: no credentials here). With --from it reads audit objects
 * already copied out of the buckets (`aws s3 sync s3://<audit bucket>/sync/ <dir>`) and prints
 * the journey itself.
 *
 * An entity is found by its lineage token, never by its key: --entity computes the token from the
 * home jurisdiction's pseudonym key in --key-file, and only the token reaches the output.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_ENV, loadConfig } from '../lib/config/load';
import { ConfigError } from '../lib/config/problems';
import {
  type AuditObject,
  asAuditObject,
  type JourneyQuery,
  journeyOf,
  renderJourney,
} from '../lib/lineage/journey';
import {
  checkQuery,
  entityToken,
  LineageQueryError,
  lineageSql,
  startQueryCommand,
} from '../lib/lineage/query';
import { Naming } from '../lib/naming';
import { runCli, UsageError } from './cli';

const USAGE = `Usage: npm run lineage -- --event <id> [--from <dir>] [--region <r>] [--since YYYY-MM-DD] [--env <name>]
       npm run lineage -- --entity-token <pz_…> [...]
       npm run lineage -- --entity <type:key> --key-file <file> [...]
  --event <id>          one record version (its event id)
  --entity-token <t>    every version of one entity, by its lineage token
  --entity <type:key>   the same, the token computed from the home jurisdiction's pseudonym key
  --key-file <file>     that key's secret string (aws secretsmanager get-secret-value
                        --secret-id <platform>-<env>-<jurisdiction>-pseudonym-key
                        --query SecretString --output text > <file>)
  --from <dir>          audit objects copied out of the buckets: print the journey itself
  --region <r>          only this region's query (default: every region)
  --since <day>         only audit objects from this day on
  --env <name>          environment: regions/overlays/<name>.yaml (default prod)
  --help                this text
Prints the Athena query and the aws athena line per region; runs nothing.
`;

function auditObjectsUnder(dir: string): AuditObject[] {
  const out: AuditObject[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.json')) {
        try {
          const o = asAuditObject(JSON.parse(readFileSync(p, 'utf8')));
          if (o) out.push(o);
        } catch {
          process.stderr.write(`# skipped ${p}: not JSON\n`);
        }
      }
    }
  };
  walk(dir);
  return out;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      help: { type: 'boolean' },
      event: { type: 'string' },
      'entity-token': { type: 'string' },
      entity: { type: 'string' },
      'key-file': { type: 'string' },
      from: { type: 'string' },
      region: { type: 'string' },
      since: { type: 'string' },
      env: { type: 'string', default: DEFAULT_ENV },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const given = [values.event, values['entity-token'], values.entity].filter(Boolean).length;
  if (given !== 1) throw new UsageError('give exactly one of --event, --entity-token or --entity');
  let q: JourneyQuery;
  if (values.event) q = { eventId: values.event };
  else if (values['entity-token']) q = { entity: values['entity-token'] };
  else {
    if (!values['key-file'])
      throw new UsageError(
        "--entity needs --key-file <file>: the home jurisdiction's pseudonym key (see below)",
      );
    q = { entity: entityToken(values.entity as string, readFileSync(values['key-file'], 'utf8')) };
  }
  checkQuery(q);
  if (values.from) {
    process.stdout.write(renderJourney(journeyOf(auditObjectsUnder(values.from), q)));
    return;
  }
  const config = loadConfig({ env: values.env });
  const naming = new Naming(config.global.platform, config.env);
  const regions = config.regions.map((r) => r.id);
  if (values.region && !regions.includes(values.region))
    throw new UsageError(
      `--region: ${values.region} is not a region of regions/ (${regions.join(', ')})`,
    );
  const what = 'eventId' in q ? `event ${q.eventId}` : `entity ${q.entity}`;
  const blocks = (values.region ? [values.region] : regions).map((r) =>
    [
      `# ${r}: the runs of ${r} that touched ${what} (dispatch from its home, apply where it arrived)`,
      startQueryCommand(naming, r, lineageSql(naming, r, q, values.since)),
    ].join('\n'),
  );
  process.stdout.write(`${blocks.join('\n\n')}\n`);
}

runCli(main, USAGE, [ConfigError, LineageQueryError]);
