/**
 * The real dependency checks. Each honours its abort signal, so a slow dependency costs at most
 * the check's deadline. SDK clients are passed in (created once per container by the handler).
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { type CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { atMost, type Check } from './checks';
import type { Endpoint } from './config';

function onAbort(signal: AbortSignal, socket: net.Socket, reject: (e: unknown) => void) {
  const abort = () => {
    socket.destroy();
    reject(signal.reason);
  };
  if (signal.aborted) abort();
  else signal.addEventListener('abort', abort, { once: true });
}

/** The endpoint accepts TCP connections (Aurora writer / reader). */
export const tcpReachable =
  ({ host, port }: Endpoint): Check =>
  (signal) =>
    new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      onAbort(signal, socket, reject);
      socket.once('connect', () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once('error', reject);
    });

/**
 * The cache answers a PING over TLS. An AUTH-protected server answers `-NOAUTH`, which also
 * proves it is up and serving: no credentials are needed for liveness.
 */
export const redisPing =
  ({ host, port }: Endpoint, useTls = true): Check =>
  (signal) =>
    new Promise((resolve, reject) => {
      const socket = useTls
        ? tls.connect({ host, port, servername: host })
        : net.connect({ host, port });
      onAbort(signal, socket, reject);
      socket.once(useTls ? 'secureConnect' : 'connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        const reply = data.toString('utf8').split('\r\n')[0] ?? '';
        if (reply === '+PONG' || reply.startsWith('-NOAUTH')) resolve(undefined);
        else reject(new Error(`unexpected reply ${JSON.stringify(reply.slice(0, 40))}`));
      });
      socket.once('error', reject);
    });

/** The region's data bucket answers HeadBucket (exists, reachable, we may access it). */
export const bucketReachable =
  (s3: S3Client, bucket: string): Check =>
  async (abortSignal) => {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal });
    return undefined;
  };

/** The sync inbound queue is not backed up beyond `max` messages. */
export const queueDepth =
  (sqs: SQSClient, queueUrl: string, max: number): Check =>
  async (abortSignal) => {
    const out = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
      { abortSignal },
    );
    const depth = Number(out.Attributes?.ApproximateNumberOfMessages ?? Number.NaN);
    if (!Number.isFinite(depth)) throw new Error('queue depth not reported');
    return atMost('depth', depth, max);
  };

/**
 * Aurora global replication lag of this (secondary) cluster, from the metric RDS publishes each
 * minute. A primary publishes none: no data is healthy.
 */
export const replicationLag =
  (cw: CloudWatchClient, cluster: string, maxSeconds: number, now = () => new Date()): Check =>
  async (abortSignal) => {
    const end = now();
    const out = await cw.send(
      new GetMetricDataCommand({
        StartTime: new Date(end.getTime() - 5 * 60_000),
        EndTime: end,
        ScanBy: 'TimestampDescending',
        MaxDatapoints: 5,
        MetricDataQueries: [
          {
            Id: 'lag',
            MetricStat: {
              Metric: {
                Namespace: 'AWS/RDS',
                MetricName: 'AuroraGlobalDBReplicationLag',
                Dimensions: [{ Name: 'DBClusterIdentifier', Value: cluster }],
              },
              Period: 60,
              Stat: 'Maximum',
            },
          },
        ],
      }),
      { abortSignal },
    );
    const latest = out.MetricDataResults?.[0]?.Values?.[0];
    if (latest === undefined) return 'lag: no data (primary or idle)';
    const seconds = Math.round(latest / 100) / 10;
    return { detail: atMost('lag', seconds, maxSeconds, 's'), value: seconds };
  };

/**
 * The writer keeper's sign (lambda/shared/failover/writer-keeper.ts): fails while it says
 * `fenced`, so the endpoint answers 503 and Route 53 and Cloudflare pull the region. A sign that
 * cannot be read fails too: a region that cannot tell whether it is fenced does not claim health.
 */
export const writerSign =
  (ssm: SSMClient, name: string): Check =>
  async (signal) => {
    const out = await ssm.send(new GetParameterCommand({ Name: name }), { abortSignal: signal });
    if (out.Parameter?.Value === 'fenced')
      throw new Error('fenced: this region lost or could not renew the writer lease');
    return undefined;
  };
