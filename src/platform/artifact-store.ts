/**
 * Artifacts: what is too large for a DynamoDB item (a task's patch, the full agent log). One
 * interface, one implementation: S3, which on one machine is s3rver on 127.0.0.1, so the same
 * client code runs locally and in AWS.
 */
import { GetObjectCommand, NoSuchKey, PutObjectCommand } from '@aws-sdk/client-s3';
import { s3 } from './s3.js';
import { getConfig } from './config.js';
import { ConfigurationError } from './errors.js';

export { artifactKeys } from './artifact-keys.js';

export interface ArtifactStore {
  put(key: string, body: string | Uint8Array, contentType: string): Promise<void>;
  /** The artifact's text, or null when there is none under `key`. */
  getText(key: string): Promise<string | null>;
}


export class S3ArtifactStore implements ArtifactStore {
  constructor(private readonly bucket: string) {}

  async put(key: string, body: string | Uint8Array, contentType: string): Promise<void> {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    await s3().send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentLength: bytes.byteLength, ContentType: contentType }));
  }

  async getText(key: string): Promise<string | null> {
    try {
      const result = await s3().send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return (await result.Body?.transformToString('utf8')) ?? '';
    } catch (error) {
      if (error instanceof NoSuchKey || (error instanceof Error && error.name === 'NoSuchKey')) return null;
      throw error;
    }
  }
}

/** The configured store (ARTIFACTS_BUCKET); a clear error when none is configured. */
export function artifactStore(): ArtifactStore {
  const bucket = getConfig().artifactsBucket;
  if (!bucket) throw new ConfigurationError('ARTIFACTS_BUCKET is not set: the artifact store (patches, agent logs) has no bucket');
  return new S3ArtifactStore(bucket);
}

/** True when an artifact store is configured (a process without one keeps working, without artifacts). */
export const hasArtifactStore = (): boolean => getConfig().artifactsBucket !== '';
