import { GetObjectCommand as SdkGet, PutObjectCommand as SdkPut, S3Client as SdkS3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client, signS3Request } from '../../src/platform/lambda-s3.js';
import { ENV } from '../../src/platform/resources.js';
import { useFreshTable } from '../support/local-env.js';

/*
 * The S3 client Lambda bundles get instead of the SDK's (lib/constructs/bundling.ts aliases it):
 * against s3rver, what it writes the SDK reads and the other way round, and a missing key is
 * NoSuchKey, as the artifact store expects.
 */
describe('the Lambda S3 client (lambda-s3.ts)', () => {
  let bucket: string;
  let sdk: SdkS3Client;
  const lite = () => new S3Client({ forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true' });
  const patch = 'diff --git a/ü.txt b/ü.txt\n+ naïve — 日本\n'.repeat(500);

  beforeAll(async () => {
    await useFreshTable();
    bucket = process.env[ENV.artifactsBucket] ?? '';
    expect(bucket).not.toBe('');
    sdk = new SdkS3Client({ forcePathStyle: true });
  });

  it('puts an object the SDK reads back byte for byte, with its content type', async () => {
    const key = "tasks/t_lite 1/(it's)*!~/patch.diff";
    await lite().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from(patch, 'utf8'), ContentType: 'text/x-diff' }));
    const read = await sdk.send(new SdkGet({ Bucket: bucket, Key: key }));
    expect(await read.Body?.transformToString('utf8')).toBe(patch);
    expect(read.ContentType).toBe('text/x-diff');
  });

  it('gets the text of an object the SDK put', async () => {
    const key = 'tasks/t_sdk/agent.log';
    await sdk.send(new SdkPut({ Bucket: bucket, Key: key, Body: patch, ContentType: 'text/plain' }));
    const got = await lite().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(await got.Body.transformToString('utf8')).toBe(patch);
  });

  it('answers a missing key with NoSuchKey, and a missing bucket with another error', async () => {
    await expect(lite().send(new GetObjectCommand({ Bucket: bucket, Key: 'tasks/none/patch.diff' }))).rejects.toBeInstanceOf(NoSuchKey);
    await expect(lite().send(new GetObjectCommand({ Bucket: `${bucket}-missing`, Key: 'tasks/x' }))).rejects.toMatchObject({ name: 'NoSuchBucket' });
  });

  it("signs as S3 does: AWS's documented GET Object example (s3rver does not check V4 signatures)", async () => {
    // https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html, "Example: GET Object".
    const signed = await signS3Request(
      {
        method: 'GET',
        url: 'https://examplebucket.s3.amazonaws.com/test.txt',
        headers: { range: 'bytes=0-9', 'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
      },
      { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
      'us-east-1',
      new Date('2013-05-24T00:00:00Z'),
    );
    expect(signed.headers.get('authorization')).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
  });
});
