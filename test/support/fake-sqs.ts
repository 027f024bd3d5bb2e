/**
 * A stateful SQS for tests, through aws-sdk-client-mock: FIFO queues keyed by URL with
 * deduplication by MessageDeduplicationId, receive counts, and regions that can be taken down.
 * The code under test uses the real SQSClient and commands; only the network is replaced.
 */
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';

export interface FakeMessage {
  readonly messageId: string;
  readonly body: string;
  readonly groupId: string;
  readonly attributes: Record<string, string>;
  receiveCount: number;
}

export class FakeSqs {
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
      const Successful = [];
      for (const e of input.Entries ?? []) {
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
      return { Successful, Failed: [] };
    });
  }

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

  restore(): void {
    this.stub.restore();
  }
}
