import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../platform/aws.js';
import { getConfig } from '../platform/config.js';
import { BATCH_GET_MAX_KEYS, queryWholeItems } from '../platform/dynamodb/batch-get.js';
import { decodeCursor, encodeCursor } from '../platform/dynamodb/cursor.js';
import type { Project } from './project.js';

/*
 * Projects: pk PROJECT#<id>, sk PROJECT; listed per owner through byUser with
 * gsi1pk USER#<owner>#PROJECTS, gsi1sk <created_at>#<id> (a partition of its own, so a user's
 * task list never sees projects).
 */
const key = (projectId: string) => ({ pk: `PROJECT#${projectId}`, sk: 'PROJECT' });
const listPartition = (ownerId: string) => `USER#${ownerId}#PROJECTS`;

const toProject = (item: Record<string, unknown>): Project => {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, ...rest } = item;
  return rest as unknown as Project;
};

export async function getProject(projectId: string): Promise<Project | null> {
  const result = await ddb().send(new GetCommand({ TableName: getConfig().tableName, Key: key(projectId), ConsistentRead: true }));
  return result.Item ? toProject(result.Item) : null;
}

/**
 * Writes the project: new only if no project has the id, an update only while the stored one
 * still has the same owner. Returns false when the condition failed (someone else took the id).
 */
export async function putProject(project: Project, isNew: boolean): Promise<boolean> {
  try {
    await ddb().send(
      new PutCommand({
        TableName: getConfig().tableName,
        Item: { ...project, ...key(project.id), gsi1pk: listPartition(project.owner_id), gsi1sk: `${project.created_at}#${project.id}` },
        ConditionExpression: isNew ? 'attribute_not_exists(pk)' : 'owner_id = :o',
        ExpressionAttributeValues: isNew ? undefined : { ':o': project.owner_id },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

/** Deletes the project if `ownerId` still owns it; false when there was nothing of theirs. */
export async function deleteProject(projectId: string, ownerId: string): Promise<boolean> {
  try {
    await ddb().send(
      new DeleteCommand({
        TableName: getConfig().tableName,
        Key: key(projectId),
        ConditionExpression: 'owner_id = :o',
        ExpressionAttributeValues: { ':o': ownerId },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

export async function listOwnProjects(ownerId: string, options: { limit: number; cursor?: string }): Promise<{ projects: Project[]; nextCursor: string | null }> {
  const partition = listPartition(ownerId);
  // Keys-only index: the page's projects come from one BatchGetItem.
  const result = await queryWholeItems({
    IndexName: 'byUser',
    KeyConditionExpression: 'gsi1pk = :p',
    ExpressionAttributeValues: { ':p': partition },
    Limit: Math.min(options.limit, BATCH_GET_MAX_KEYS),
    ExclusiveStartKey: decodeCursor(options.cursor, { partitionAttribute: 'gsi1pk', partitionValue: partition, sortAttribute: 'gsi1sk' }),
  });
  return { projects: result.Items.map(toProject), nextCursor: encodeCursor(result.LastEvaluatedKey) };
}
