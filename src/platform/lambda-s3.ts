import { createHash, createHmac } from 'node:crypto';
import { defaultProvider } from './lambda-credentials.js';

/*
 * What Lambda bundles use instead of `@aws-sdk/client-s3` (an esbuild alias in
 * lib/constructs/bundling.ts): the two calls the artifact store makes (src/platform/s3.ts,
 * artifact-store.ts), GetObject and PutObject, signed with SigV4 (node:crypto) over Node's fetch.
 * The SDK's S3 client brings its XML protocol, an XML parser, S3 middleware and checksum code:
 * about 190 KB of the one function that reads artifacts (functions/api-sandbox: 654 -> 468 KB).
 * Local runs and tests are not bundled and keep the SDK; test/integration/lambda-s3.test.ts runs
 * this one against s3rver, both ways round with the SDK, and checks the signature against AWS's
 * published example (s3rver does not check V4 signatures).
 */

const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * SigV4 for S3 (header-based): `headers` must hold `host` and `x-amz-content-sha256`; returns them
 * with `x-amz-date`, the session token if any, and `authorization`. Every given header is signed.
 */
export function signS3Request(
  request: { method: string; path: string; headers: Record<string, string> },
  credentials: S3Credentials,
  region: string,
  now: Date,
): Record<string, string> {
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = { ...request.headers, 'x-amz-date': amzDate };
  if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
  const names = Object.keys(headers).map((name) => name.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value.trim().replace(/\s+/g, ' ')]));
  const signedHeaders = names.join(';');
  const canonical = [request.method, request.path, '', ...names.map((name) => `${name}:${lower[name]}`), '', signedHeaders, lower['x-amz-content-sha256']].join('\n');
  const scope = `${day}/${region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  return { ...headers, authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}` };
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
    // SigV4's URI encoding: everything but A-Z a-z 0-9 - _ . ~ (and the key's slashes).
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
    const headers: Record<string, string> = { host: url.host, 'x-amz-content-sha256': sha256Hex(body ?? '') };
    if (put) headers['content-type'] = command.input.ContentType ?? 'application/octet-stream';
    const sent = signS3Request({ method, path: url.pathname, headers }, await this.credentials(), region, new Date());
    delete sent.host; // fetch sets it (and refuses to take it)
    const response = await fetch(url, { method, headers: sent, body });
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
