/** DynamoDB's conditional write, as the lock's items use it. */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';

/**
 * Applies `input` if its condition holds: true when it did, false when the condition refused it.
 * Any other error (an endpoint that does not answer) is thrown.
 */
export async function updateIf(
  ddb: DynamoDBClient,
  input: UpdateItemCommandInput,
): Promise<boolean> {
  try {
    await ddb.send(new UpdateItemCommand(input));
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}
