/**
 * config-drift: on a schedule, reads every region's deployed fingerprint (SSM) and reports
 * critical differences as the ConfigDrift metric (alarmed) and in the log. Thin: the comparison
 * is ../shared/drift.ts.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { compareFingerprints, type DriftFinding, type Fingerprint } from '../shared/drift';
import { EnvReader, REGION_ID } from '../shared/env';
import { powertools, traceClient, tracedHandler } from '../shared/powertools';

const env = new EnvReader(process.env);
const config = {
  region: env.string('MERIDIAN_REGION', REGION_ID, 'an AWS region id'),
  parameter: env.string('MERIDIAN_FINGERPRINT_PARAMETER', /^\/[\w./-]+$/, 'an SSM parameter name'),
  regions: env
    .string(
      'MERIDIAN_REGIONS',
      /^[a-z0-9-]+(,[a-z0-9-]+)*$/,
      'a comma-separated list of region ids',
    )
    .split(','),
};
env.check('config-drift');

const { logger, metrics, tracer } = powertools('Meridian/Operations', 'config-drift');
metrics.setDefaultDimensions({ Region: config.region });
const clients = new Map(
  config.regions.map((r) => [r, traceClient(tracer, new SSMClient({ region: r, maxAttempts: 2 }))]),
);

export const handler = tracedHandler(tracer, async (): Promise<{ findings: DriftFinding[] }> => {
  const prints: Fingerprint[] = [];
  const missing: string[] = [];
  await Promise.all(
    config.regions.map(async (r) => {
      try {
        const out = await clients.get(r)?.send(new GetParameterCommand({ Name: config.parameter }));
        prints.push(JSON.parse(out?.Parameter?.Value ?? '') as Fingerprint);
      } catch (err) {
        logger.warn('fingerprint unreadable', { region: r, error: (err as Error).message });
        missing.push(r);
      }
    }),
  );
  const findings = compareFingerprints(prints, missing.sort());
  const critical = findings.filter((f) => f.severity === 'critical');
  metrics.addMetric('ConfigDrift', MetricUnit.Count, critical.length);
  metrics.publishStoredMetrics();
  if (findings.length > 0) logger.warn('config drift', { findings });
  return { findings };
});
