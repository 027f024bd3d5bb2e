/**
 * A stateful SQS for tests, through aws-sdk-client-mock: FIFO queues keyed by URL with
 * deduplication by MessageDeduplicationId, receive counts, and regions that can be taken down.
 * The code under test uses the real SQSClient and commands; only the network is replaced.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';

export interface FakeMessage {
  readonly messageId: string;
  readonly body: string;
  readonly groupId: string;
  readonly attributes: Record<string, string>;
  receiveCount: number;
  /** Receipt handle while received and neither deleted nor released (FIFO: blocks its group). */
  inFlight?: string;
}

export class FakeSqs {
  /** SQS's default MaximumMessageSize (a queue may raise it to 1 MiB; Meridian's do not). */
  static readonly MAX_BYTES = 262_144;
  readonly queues = new Map<string, FakeMessage[]>();
  private readonly dedup = new Map<string, Set<string>>();
  /** Regions whose endpoint fails every call. */
  readonly down = new Set<string>();
  private seq = 0;
  private readonly stub = mockClient(SQSClient);

  constructor() {
    this.stub.on(SendMessageBatchCommand).callsFake((input) => {
      const url: string = input.QueueUrl;
      const region = /sqs\.([a-z0-9-]+)\./.exec(url)?.[1] ?? '';
      if (this.down.has(region)) {
        const err = new Error(`connect ETIMEDOUT sqs.${region}.amazonaws.com`);
        err.name = 'TimeoutError';
        throw err;
      }
      const q = this.queue(url);
      const seen = this.dedup.get(url) ?? new Set<string>();
      this.dedup.set(url, seen);
      // The queues' MaximumMessageSize, SQS's default (262,144 bytes), per message and per batch.
      const bytes = (e: { MessageBody?: string }) => Buffer.byteLength(e.MessageBody ?? '');
      const entries = input.Entries ?? [];
      const total = entries
        .map((e: { MessageBody?: string }) => bytes(e))
        .reduce((n: number, b: number) => n + b, 0);
      if (total > FakeSqs.MAX_BYTES && entries.length > 1)
        throw Object.assign(new Error('Batch requests cannot be longer than 262144 bytes.'), {
          name: 'BatchRequestTooLong',
        });
      const Successful = [];
      const Failed = [];
      for (const e of entries) {
        if (bytes(e) > FakeSqs.MAX_BYTES) {
          Failed.push({
            Id: e.Id,
            SenderFault: true,
            Code: 'InvalidParameterValue',
            Message: `One or more parameters are invalid. Reason: Message must be shorter than ${FakeSqs.MAX_BYTES} bytes.`,
          });
          continue;
        }
        const id = `m-${++this.seq}`;
        if (!seen.has(e.MessageDeduplicationId)) {
          seen.add(e.MessageDeduplicationId);
          q.push({
            messageId: id,
            body: e.MessageBody,
            groupId: e.MessageGroupId,
            attributes: Object.fromEntries(
              Object.entries(e.MessageAttributes ?? {}).map(([k, v]) => [
                k,
                (v as { StringValue: string }).StringValue,
              ]),
            ),
            receiveCount: 0,
          });
        }
        Successful.push({ Id: e.Id, MessageId: id, MD5OfMessageBody: '' });
      }
      return { Successful, Failed };
    });
    // Consumers through the API (the redrive): FIFO receive, delete and release by receipt.
    this.stub.on(ReceiveMessageCommand).callsFake((input) => {
      const busy = new Set<string>();
      const Messages = [];
      for (const m of this.queue(input.QueueUrl)) {
        if (Messages.length >= (input.MaxNumberOfMessages ?? 1)) break;
        if (m.inFlight || busy.has(m.groupId)) {
          busy.add(m.groupId);
          continue;
        }
        m.receiveCount += 1;
        m.inFlight = `${m.messageId}#${m.receiveCount}`;
        busy.add(m.groupId);
        Messages.push({ MessageId: m.messageId, ReceiptHandle: m.inFlight, Body: m.body });
      }
      return { Messages };
    });
    this.stub.on(DeleteMessageBatchCommand).callsFake((input) => {
      const url: string = input.QueueUrl;
      const receipts = new Set(
        (input.Entries ?? []).map((e: { ReceiptHandle: string }) => e.ReceiptHandle),
      );
      this.deleteCalls += 1;
      if (this.failDeletes) throw new Error('ServiceUnavailable: try again');
      this.queues.set(
        url,
        this.queue(url).filter((m) => !(m.inFlight && receipts.has(m.inFlight))),
      );
      return {
        Successful: (input.Entries ?? []).map((e: { Id: string }) => ({ Id: e.Id })),
        Failed: [],
      };
    });
    this.stub.on(ChangeMessageVisibilityBatchCommand).callsFake((input) => {
      const receipts = new Set(
        (input.Entries ?? []).map((e: { ReceiptHandle: string }) => e.ReceiptHandle),
      );
      for (const m of this.queue(input.QueueUrl))
        if (m.inFlight && receipts.has(m.inFlight)) m.inFlight = undefined;
      return {
        Successful: (input.Entries ?? []).map((e: { Id: string }) => ({ Id: e.Id })),
        Failed: [],
      };
    });
  }

  /** DeleteMessageBatch calls received, and whether they fail (a fault test). */
  deleteCalls = 0;
  failDeletes = false;

  queue(url: string): FakeMessage[] {
    let q = this.queues.get(url);
    if (!q) {
      q = [];
      this.queues.set(url, q);
    }
    return q;
  }

  /** Puts a raw message on a queue (a malformed body, say). */
  inject(url: string, body: string, groupId = 'g'): void {
    this.queue(url).push({
      messageId: `m-${++this.seq}`,
      body,
      groupId,
      attributes: {},
      receiveCount: 0,
    });
  }

  /** Takes up to `max` messages for processing; each counts a receive. */
  receive(url: string, max = 10): FakeMessage[] {
    const batch = this.queue(url).slice(0, max);
    for (const m of batch) m.receiveCount += 1;
    return batch;
  }

  /** Deletes processed messages (what Lambda does for the successes of a batch). */
  ack(url: string, messageIds: readonly string[]): void {
    const q = this.queue(url);
    const drop = new Set(messageIds);
    this.queues.set(
      url,
      q.filter((m) => !drop.has(m.messageId)),
    );
  }

  /** Every received message's visibility timeout runs out (a consumer that died). */
  expireVisibility(url: string): void {
    for (const m of this.queue(url)) m.inFlight = undefined;
  }

  /** SQS's 5-minute deduplication window passes: ids seen before are accepted again. */
  forgetDeduplication(url: string): void {
    this.dedup.delete(url);
  }

  restore(): void {
    this.stub.restore();
  }
}
