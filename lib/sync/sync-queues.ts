import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledgeDeadLetterQueue } from '../functions/meridian-function';

export interface SyncQueuesProps {
  /** The regional key; the queues are encrypted with it. */
  readonly key: kms.IKey;
  /** Physical names (FIFO: they end in `.fifo`). */
  readonly inboundQueueName: string;
  readonly deadLetterQueueName: string;
  /** Receives before a message is parked in the dead-letter queue. */
  readonly maxReceiveCount: number;
  /** @default Duration.minutes(6) - six times the apply function's timeout */
  readonly visibilityTimeout?: Duration;
}

/**
 * The region's sync inbound queue: FIFO, so records of one entity (message group = entity key)
 * apply in order and a redelivered event id is dropped by SQS deduplication; messages that keep
 * failing move to a FIFO dead-letter queue with their attributes intact.
 */
export class SyncQueues extends Construct {
  readonly inbound: sqs.Queue;
  readonly deadLetter: sqs.Queue;

  constructor(scope: Construct, id: string, props: SyncQueuesProps) {
    super(scope, id);
    const common = {
      fifo: true,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN,
    } as const;
    this.deadLetter = new sqs.Queue(this, 'DeadLetter', {
      ...common,
      queueName: props.deadLetterQueueName,
    });
    acknowledgeDeadLetterQueue(
      this.deadLetter,
      'the sync inbound queue (and the parking lot of dispatch)',
    );
    this.inbound = new sqs.Queue(this, 'Inbound', {
      ...common,
      queueName: props.inboundQueueName,
      contentBasedDeduplication: false,
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      visibilityTimeout: props.visibilityTimeout ?? Duration.minutes(6),
      deadLetterQueue: { queue: this.deadLetter, maxReceiveCount: props.maxReceiveCount },
    });
  }
}
