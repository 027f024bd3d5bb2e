/**
 * A region's Route 53 endpoint health check, read through the Route 53 API: found by the
 * `meridian:region` tag every regional stack puts on its resources, and its checkers' last
 * observations. Shared by the runbook's Verify step and the region watch (./watch.ts). Route 53's
 * control plane lives in us-east-1: when that region is down these calls fail, and callers must
 * treat the checkers as unknown, never as healthy or unhealthy.
 */
import {
  GetHealthCheckStatusCommand,
  type HealthCheckObservation,
  ListHealthChecksCommand,
  ListTagsForResourcesCommand,
  type Route53Client,
} from '@aws-sdk/client-route-53';

/** The tag that names a resource's region (lib/regional/derivations.ts, regionalTags). */
export const REGION_TAG = 'meridian:region';

/** ListTagsForResources takes at most 10 ids per call. */
const TAGS_PER_CALL = 10;

/** Per-call options: an abort signal bounds a call (the watch's probe deadline). */
export interface CallOptions {
  readonly abortSignal?: AbortSignal;
}

/**
 * The id of `region`'s endpoint check (type HTTPS_STR_MATCH, tagged `meridian:region=<region>`;
 * the calculated check carries the same tag and is skipped), or undefined when none is tagged so.
 * Reads every page of ListHealthChecks.
 */
export async function healthCheckOf(
  route53: Route53Client,
  region: string,
  options: CallOptions = {},
): Promise<string | undefined> {
  const ids: string[] = [];
  let marker: string | undefined;
  do {
    const page = await route53.send(
      new ListHealthChecksCommand(marker ? { Marker: marker } : {}),
      options,
    );
    for (const h of page.HealthChecks ?? [])
      if (h.HealthCheckConfig?.Type === 'HTTPS_STR_MATCH' && h.Id) ids.push(h.Id);
    marker = page.IsTruncated ? page.NextMarker : undefined;
  } while (marker);
  for (let i = 0; i < ids.length; i += TAGS_PER_CALL) {
    const tags = await route53.send(
      new ListTagsForResourcesCommand({
        ResourceType: 'healthcheck',
        ResourceIds: ids.slice(i, i + TAGS_PER_CALL),
      }),
      options,
    );
    const hit = tags.ResourceTagSets?.find((t) =>
      t.Tags?.some((x) => x.Key === REGION_TAG && x.Value === region),
    )?.ResourceId;
    if (hit) return hit;
  }
  return undefined;
}

/** What the checkers last observed: how many report, and how many report Success. */
export interface CheckerCounts {
  readonly total: number;
  readonly healthy: number;
}

/** A checker's observation counts as healthy when its status starts with `Success`. */
export const observedHealthy = (o: HealthCheckObservation): boolean =>
  o.StatusReport?.Status?.startsWith('Success') === true;

/** The checkers' last observations of health check `id` (GetHealthCheckStatus). */
export async function checkersOf(
  route53: Route53Client,
  id: string,
  options: CallOptions = {},
): Promise<CheckerCounts> {
  const status = await route53.send(
    new GetHealthCheckStatusCommand({ HealthCheckId: id }),
    options,
  );
  const observations = status.HealthCheckObservations ?? [];
  return { total: observations.length, healthy: observations.filter(observedHealthy).length };
}
