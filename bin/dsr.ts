#!/usr/bin/env node
/**
 * npm run dsr -- <access|erase|rectify> --subject <type:key> [--subject …] --jurisdiction <j>
 *                [--corrected-at <ISO time>] [--request-id <uuid>] [--env prod]
 *
 * Prints a data-subject request as a script: its deadline, where the plan let the subject's records
 * go, the payload file and one `aws lambda invoke` per cell (home first). It runs nothing (no
 * credentials here). Errors go to stderr with exit 1.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { entityRef, SubjectRequestError } from '../lambda/shared/dsr/subject';
import { ResidencyIndex } from '../lambda/shared/residency-plan';
import { DEFAULT_ENV, loadConfig } from '../lib/config/load';
import { ConfigError } from '../lib/config/problems';
import { dsrPlan, dsrScript } from '../lib/dsr/plan';
import { runCli, UsageError } from './cli';

const USAGE = `Usage: npm run dsr -- <access|erase|rectify> --subject <type:key> [--subject …] --jurisdiction <id> [--corrected-at <time>] [--request-id <uuid>] [--env <name>]
  access | erase        find every copy (export), or erase them for good
  rectify               after writing the corrected version through the application: remove every
                        version written before it, everywhere
  --corrected-at <time> rectify: when the corrected version was written (ISO 8601, not in the future)
  --subject <type:key>  an entity of the subject (repeat for each: a customer, their addresses…)
  --jurisdiction <id>   the subject's home jurisdiction (its law and deadline apply)
  --request-id <uuid>   the request's id (default: a new one)
  --env <name>          environment: regions/overlays/<name>.yaml (default prod)
  --help                this text
Prints the deadline, the payload file and one aws lambda invoke per cell; runs nothing.
`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      help: { type: 'boolean' },
      subject: { type: 'string', multiple: true },
      jurisdiction: { type: 'string' },
      'corrected-at': { type: 'string' },
      'request-id': { type: 'string' },
      env: { type: 'string', default: DEFAULT_ENV },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const [action, ...rest] = positionals;
  if ((action !== 'access' && action !== 'erase' && action !== 'rectify') || rest.length > 0)
    throw new UsageError('say what to do: access, erase or rectify');
  if (values['corrected-at'] && action !== 'rectify')
    throw new UsageError('--corrected-at is for rectify only');
  if (!values.subject?.length) throw new UsageError('--subject <type:key> is required');
  if (!values.jurisdiction) throw new UsageError('--jurisdiction <id> is required');
  const requestId = values['request-id'] ?? randomUUID();
  if (!UUID.test(requestId)) throw new UsageError('--request-id: expected a lower-case UUID');
  const config = loadConfig({ env: values.env });
  const plan = dsrPlan(config, new ResidencyIndex(config.plan), {
    action,
    jurisdiction: values.jurisdiction,
    entities: values.subject.map(entityRef),
    requestId,
    now: new Date(),
    ...(values['corrected-at'] ? { correctedAt: new Date(values['corrected-at']) } : {}),
  });
  process.stdout.write(dsrScript(config, plan));
}

runCli(main, USAGE, [ConfigError, SubjectRequestError]);
