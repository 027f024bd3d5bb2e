/**
 * SQS adapters for the sync path: the transport to target regions' inbound FIFO queues and the
 * dead-letter queue that parks records with their reason. Retries inside a call are the SDK's
 * (exponential backoff with jitter); retries across runs are the outbox's.
 */
import { createHash } from 'node:crypto';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { OutboundMessage, ParkedRecord, ParkingLot, Transport } from './dispatch';
import { entityId } from './events';

/** Entries per SendMessageBatch and bytes per batch (SQS limits). */
const MAX_ENTRIES = 10;
const MAX_BATCH_BYTES = 256 * 1024;

/** Splits messages into SendMessageBatch-sized chunks (count and total size). */
export function chunk(messages: readonly OutboundMessage[]): OutboundMessage[][] {
  const out: OutboundMessage[][] = [];
  let current: OutboundMessage[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = Buffer.byteLength(m.body);
    if (current.length === MAX_ENTRIES || (current.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

async function sendBatch(
  client: SQSClient,
  queueUrl: string,
  messages: readonly OutboundMessage[],
  attributes?: (m: OutboundMessage) => Record<string, { DataType: 'String'; StringValue: string }>,
): Promise<Map<string, string>> {
  const failed = new Map<string, string>();
  for (const part of chunk(messages)) {
    const out = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: part.map((m, i) => ({
          Id: String(i),
          MessageBody: m.body,
          MessageGroupId: m.groupId,
          MessageDeduplicationId: m.id,
          ...(attributes ? { MessageAttributes: attributes(m) } : {}),
        })),
      }),
    );
    for (const f of out.Failed ?? []) {
      const m = part[Number(f.Id)];
      if (m) failed.set(m.id, `${f.Code ?? 'Failed'}: ${f.Message ?? 'not accepted'}`);
    }
  }
  return failed;
}

export class SqsTransport implements Transport {
  constructor(
    private readonly clientFor: (region: string) => SQSClient,
    private readonly queueUrlOf: (target: string) => string,
  ) {}

  async send(target: string, messages: readonly OutboundMessage[]) {
    return { failed: await sendBatch(this.clientFor(target), this.queueUrlOf(target), messages) };
  }
}

/** The region's sync dead-letter queue; each message carries the record and the reason. */
export class SqsParkingLot implements ParkingLot {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async park(records: readonly ParkedRecord[]): Promise<void> {
    const reasons = new Map<string, string>();
    const messages = records.map((r) => {
      const id = createHash('sha256').update(`${r.event.eventId}\u0000${r.reason}`).digest('hex');
      reasons.set(id, r.reason);
      return {
        id,
        groupId: entityId(r.event),
        body: JSON.stringify({ reason: r.reason, targets: r.targets, event: r.event }),
      };
    });
    const failed = await sendBatch(this.client, this.queueUrl, messages, (m) => ({
      reason: { DataType: 'String', StringValue: (reasons.get(m.id) ?? '').slice(0, 1000) },
    }));
    if (failed.size > 0)
      throw new Error(
        `dead-letter queue refused ${failed.size} record(s): ${[...failed.values()][0]}`,
      );
  }
}
