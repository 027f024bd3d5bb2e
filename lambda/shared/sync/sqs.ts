/**
 * SQS adapters for the sync path: the transport to target regions' inbound FIFO queues and the
 * dead-letter queue that parks records with their reason. Retries inside a call are the SDK's
 * (exponential backoff with jitter); retries across runs are the outbox's.
 */
import { createHash } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { OutboundMessage, ParkedRecord, ParkingLot, Transport } from './dispatch';
import { entityId } from './events';
import type { DeadLetterQueue, ReceivedDeadLetter } from './redrive';

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

/**
 * Splits messages into `n` lanes by message group: one group's messages stay in one lane, in
 * order, so lanes may be sent side by side without reordering any entity.
 */
export function lanes(messages: readonly OutboundMessage[], n: number): OutboundMessage[][] {
  const out: OutboundMessage[][] = Array.from({ length: n }, () => []);
  for (const m of messages) {
    let h = 0;
    for (let i = 0; i < m.groupId.length; i++) h = (h * 31 + m.groupId.charCodeAt(i)) | 0;
    out[Math.abs(h) % n]?.push(m);
  }
  return out.filter((l) => l.length > 0);
}

/**
 * SendMessageBatch calls in flight at once to one queue. Each call is a round trip to the
 * target's region (hundreds of ms between continents): one at a time, 10 messages per round
 * trip would cap a far target at a few dozen messages a second.
 */
export const SEND_LANES = 8;

async function sendBatch(
  client: SQSClient,
  queueUrl: string,
  messages: readonly OutboundMessage[],
  attributes?: (m: OutboundMessage) => Record<string, { DataType: 'String'; StringValue: string }>,
): Promise<Map<string, string>> {
  const failed = new Map<string, string>();
  await Promise.all(
    lanes(messages, SEND_LANES).map((lane) => sendLane(client, queueUrl, lane, failed, attributes)),
  );
  return failed;
}

async function sendLane(
  client: SQSClient,
  queueUrl: string,
  messages: readonly OutboundMessage[],
  failed: Map<string, string>,
  attributes?: (m: OutboundMessage) => Record<string, { DataType: 'String'; StringValue: string }>,
): Promise<void> {
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
}

/** The queue URL of a region from a configured map; a region not in it is an error to report. */
export const queueOf =
  (queues: Readonly<Record<string, string>>) =>
  (region: string): string => {
    const url = queues[region];
    if (!url) throw new Error(`no inbound queue configured for ${region}`);
    return url;
  };

export class SqsTransport implements Transport {
  constructor(
    private readonly clientFor: (region: string) => SQSClient,
    private readonly queueUrlOf: (target: string) => string,
  ) {}

  async send(target: string, messages: readonly OutboundMessage[]) {
    return { failed: await sendBatch(this.clientFor(target), this.queueUrlOf(target), messages) };
  }
}

/** A dead letter's body: the reason, the targets still owed, the event, and apply's envelope. */
export const parkedBody = (r: ParkedRecord): string =>
  JSON.stringify({
    reason: r.reason,
    targets: r.targets,
    event: r.event,
    ...(r.inbound ? { inbound: r.inbound } : {}),
  });

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
        body: parkedBody(r),
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

/** Splits a list into runs of at most 10 (the SQS batch limit). */
const tens = <T>(xs: readonly T[]): T[][] =>
  Array.from({ length: Math.ceil(xs.length / MAX_ENTRIES) }, (_, i) =>
    xs.slice(i * MAX_ENTRIES, (i + 1) * MAX_ENTRIES),
  );

/** The dead-letter queue as a redrive reads it. */
export class SqsDeadLetterQueue implements DeadLetterQueue {
  /**
   * @param visibilitySeconds how long a received dead letter stays hidden if the redrive dies
   *   before deleting or releasing it; longer than the redrive function's timeout.
   */
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly visibilitySeconds = 360,
  ) {}

  async receive(): Promise<ReceivedDeadLetter[]> {
    const out = await this.client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: MAX_ENTRIES,
        VisibilityTimeout: this.visibilitySeconds,
        // Long polling asks every SQS server: an empty answer means the queue has nothing visible.
        WaitTimeSeconds: 1,
      }),
    );
    return (out.Messages ?? []).flatMap((m) =>
      m.MessageId && m.ReceiptHandle && m.Body !== undefined
        ? [{ id: m.MessageId, receipt: m.ReceiptHandle, body: m.Body }]
        : [],
    );
  }

  async remove(receipts: readonly string[]): Promise<void> {
    for (const part of tens(receipts)) {
      const out = await this.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: part.map((ReceiptHandle, i) => ({ Id: String(i), ReceiptHandle })),
        }),
      );
      const f = out.Failed?.[0];
      if (f)
        throw new Error(
          `dead-letter queue kept ${out.Failed?.length} redriven message(s) (a later redrive settles them): ${f.Code}: ${f.Message ?? ''}`,
        );
    }
  }

  async release(receipts: readonly string[]): Promise<void> {
    for (const part of tens(receipts))
      await this.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: part.map((ReceiptHandle, i) => ({
            Id: String(i),
            ReceiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
  }
}
