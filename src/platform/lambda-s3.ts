import { AwsClient } from 'aws4fetch';
import { defaultProvider } from './lambda-credentials.js';

/*
 * What Lambda bundles use instead of `@aws-sdk/client-s3` (an esbuild alias in
 * lib/constructs/bundling.ts): the two calls the artifact store makes (src/platform/s3.ts,
 * artifact-store.ts), GetObject and PutObject, over Node's fetch, signed with SigV4 by
 * `aws4fetch` (a small, dependency-free signer). The SDK's S3 client brings its XML protocol, an
 * XML parser, S3 middleware and checksum code: about 190 KB of the one function that reads
 * artifacts (functions/api-sandbox: 654 -> 468 KB). Local runs and tests are not bundled and keep
 * the SDK; test/integration/lambda-s3.test.ts runs this one against s3rver, both ways round with
 * the SDK, and checks the signature against AWS's published example (s3rver does not check V4
 * signatures).
 */

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** The signed request for `url` (S3, header-based SigV4; the payload hash is sent as `x-amz-content-sha256`). */
export function signS3Request(
  request: { method: string; url: string; headers: Record<string, string>; body?: Uint8Array },
  credentials: S3Credentials,
  region: string,
  now: Date,
): Promise<Request> {
  const client = new AwsClient({ ...credentials, service: 's3', region });
  const datetime = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return client.sign(request.url, { method: request.method, headers: request.headers, body: request.body, aws: { datetime, allHeaders: true } });
}

/** The SDK's error for a missing key; artifact-store.ts tests `instanceof NoSuchKey` and the name. */
export class NoSuchKey extends Error {
  constructor(message = 'The specified key does not exist.') {
    super(message);
    this.name = 'NoSuchKey';
  }
}

interface ObjectInput {
  Bucket: string;
  Key: string;
}
export class GetObjectCommand {
  constructor(readonly input: ObjectInput) {}
}
export class PutObjectCommand {
  constructor(readonly input: ObjectInput & { Body: string | Uint8Array; ContentLength?: number; ContentType?: string }) {}
}

export interface S3ClientConfig {
  forcePathStyle?: boolean;
  requestChecksumCalculation?: string;
  responseChecksumValidation?: string;
}

export interface GetObjectOutput {
  Body: { transformToString(encoding?: string): Promise<string> };
}

export class S3Client {
  private readonly credentials = defaultProvider();
  constructor(private readonly config: S3ClientConfig = {}) {}

  send(command: GetObjectCommand): Promise<GetObjectOutput>;
  send(command: PutObjectCommand): Promise<Record<string, never>>;
  async send(command: GetObjectCommand | PutObjectCommand): Promise<GetObjectOutput | Record<string, never>> {
    const region = process.env.AWS_REGION ?? 'us-east-1';
    const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    const { Bucket, Key } = command.input;
    // S3's URI encoding: everything but A-Z a-z 0-9 - _ . ~ (and the key's slashes).
    const path = Key.split('/')
      .map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`))
      .join('/');
    const url =
      endpoint !== undefined || this.config.forcePathStyle
        ? new URL(`${(endpoint ?? `https://s3.${region}.amazonaws.com`).replace(/\/$/, '')}/${encodeURIComponent(Bucket)}/${path}`)
        : new URL(`https://${Bucket}.s3.${region}.amazonaws.com/${path}`);
    const put = command instanceof PutObjectCommand;
    const body = put ? (typeof command.input.Body === 'string' ? Buffer.from(command.input.Body, 'utf8') : command.input.Body) : undefined;
    const method = put ? 'PUT' : 'GET';
    const headers: Record<string, string> = put ? { 'content-type': command.input.ContentType ?? 'application/octet-stream' } : {};
    const response = await fetch(await signS3Request({ method, url: url.href, headers, body }, await this.credentials(), region, new Date()));
    if (!response.ok) {
      const text = await response.text();
      const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
      if (code === 'NoSuchKey' || (response.status === 404 && !code)) throw new NoSuchKey();
      const error = new Error(`S3 ${method} ${Key}: ${response.status} ${/<Message>([^<]+)<\/Message>/.exec(text)?.[1] ?? text.slice(0, 200)}`);
      error.name = code ?? `S3Error${response.status}`;
      throw error;
    }
    if (put) {
      await response.arrayBuffer();
      return {};
    }
    const bytes = Buffer.from(await response.arrayBuffer());
    return { Body: { transformToString: (encoding = 'utf8') => Promise.resolve(bytes.toString(encoding as BufferEncoding)) } };
  }

  destroy(): void {}
}
