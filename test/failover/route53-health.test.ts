import {
  GetHealthCheckStatusCommand,
  type HealthCheck,
  ListHealthChecksCommand,
  ListTagsForResourcesCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { checkersOf, healthCheckOf } from '../../lambda/shared/failover/route53-health';

const route53 = mockClient(Route53Client);
const client = new Route53Client({ region: 'us-east-1' });
beforeEach(() => route53.reset());

const check = (id: string, type = 'HTTPS_STR_MATCH'): HealthCheck =>
  ({
    Id: id,
    CallerReference: id,
    HealthCheckVersion: 1,
    HealthCheckConfig: { Type: type },
  }) as HealthCheck;
const page = (checks: HealthCheck[], next?: string) => ({
  HealthChecks: checks,
  IsTruncated: next !== undefined,
  ...(next ? { NextMarker: next } : {}),
  Marker: '',
  MaxItems: 100,
});

describe('a region’s Route 53 health check, by its meridian:region tag', () => {
  test('every page of health checks, tags read 10 ids at a time, calculated checks skipped', async () => {
    const many = Array.from({ length: 12 }, (_, i) => check(`hc-${i}`));
    route53
      .on(ListHealthChecksCommand)
      .resolves(page([check('calc-euw1', 'CALCULATED'), ...many.slice(0, 8)], 'hc-8'))
      .on(ListHealthChecksCommand, { Marker: 'hc-8' })
      .resolves(page(many.slice(8)));
    route53.on(ListTagsForResourcesCommand).callsFake(async (input) => ({
      ResourceTagSets: input.ResourceIds.map((id: string) => ({
        ResourceType: 'healthcheck',
        ResourceId: id,
        Tags: [{ Key: 'meridian:region', Value: id === 'hc-11' ? 'eu-west-1' : 'us-east-1' }],
      })),
    }));
    expect(await healthCheckOf(client, 'eu-west-1')).toBe('hc-11');
    expect(
      route53.commandCalls(ListTagsForResourcesCommand).map((c) => c.args[0].input.ResourceIds),
    ).toEqual([many.slice(0, 10).map((h) => h.Id), many.slice(10).map((h) => h.Id)]);
    expect(await healthCheckOf(client, 'ap-south-2')).toBeUndefined();
  });

  test('the checkers’ last observations: how many report, how many report Success', async () => {
    route53.on(GetHealthCheckStatusCommand, { HealthCheckId: 'hc-1' }).resolves({
      HealthCheckObservations: [
        { StatusReport: { Status: 'Success: HTTP Status Code 200, OK' } },
        { StatusReport: { Status: 'Failure: HTTP Status Code 503, Service Unavailable' } },
        { StatusReport: {} },
        { StatusReport: { Status: 'Success: HTTP Status Code 200, OK' } },
      ],
    });
    expect(await checkersOf(client, 'hc-1')).toEqual({ total: 4, healthy: 2 });
  });

  test('an abort signal is passed to every call (the watch bounds them by its probe timeout)', async () => {
    route53.on(ListHealthChecksCommand).resolves(page([check('hc-1')]));
    route53.on(ListTagsForResourcesCommand).resolves({ ResourceTagSets: [] });
    const abortSignal = new AbortController().signal;
    await healthCheckOf(client, 'eu-west-1', { abortSignal });
    for (const call of route53.calls())
      expect((call.args as unknown[])[1]).toEqual({ abortSignal });
  });
});
