import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { getConfig } from '../../src/platform/config.js';
import { WAKE_CONSUMER } from '../../src/platform/resources.js';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { API_ROUTES, routeKey, type RouteDefinition } from '../../src/platform/http/route-table.js';
import { errorResponse, MAX_BODY_BYTES, type ApiEvent, type ApiResult } from '../../src/platform/http/api-handler.js';
import { UnauthorizedError, DomainError, ValidationError } from '../../src/platform/errors.js';
import { verifyLocalToken } from './local-auth.js';
import type { LocalWebApp } from './web-app.js';

export interface LocalFunctions {
  api: (event: ApiEvent, context: Context) => Promise<ApiResult>;
  orchestrator: (event: unknown) => Promise<unknown>;
  spawner: (event: SQSEvent) => Promise<SQSBatchResponse>;
  spawnDlq: (event: SQSEvent) => Promise<SQSBatchResponse>;
  sweeper: (event: unknown) => Promise<unknown>;
  /** Notification deliveries; optional so harnesses that do not notify can leave it out. */
  notifier?: (event: SQSEvent) => Promise<SQSBatchResponse>;
  digestTrigger?: (event: unknown) => Promise<unknown>;
}

export interface RuntimeOptions {
  port: number;
  /** Orchestrator passes run at once for wake-ups (the event source's maximum concurrency by default). */
  wakeConcurrency?: number;
  secret: Uint8Array;
  functions: LocalFunctions;
  queues: { spawnQueueUrl: string; spawnDlqUrl: string; wakeQueueUrl: string; notifyQueueUrl?: string };
  pollIntervalSeconds: number;
  timeoutCheckIntervalSeconds: number;
  /** How often the digest trigger runs (60 s, as the EventBridge rule in AWS). */
  digestIntervalSeconds?: number;
  /** Milliseconds a poller waits for messages; short in tests so shutdown is quick. */
  waitTimeSeconds?: number;
  log?: (line: string) => void;
  /** Extra local authentication (API keys); returns authorizer claims or null. */
  authenticateApiKey?: (key: string) => Promise<Record<string, string> | null>;
  /** A bearer token the local signer did not make (an OpenID Connect issuer's); authorizer context or null. */
  authenticateBearer?: (token: string) => Promise<Record<string, string> | null>;
  /** The dashboard and its local sign-in, answering every path outside /api/. */
  web?: LocalWebApp;
}

export interface RunningRuntime {
  url: string;
  stop(): Promise<void>;
}

const lambdaContext = (name: string): Context =>
  ({
    functionName: name,
    awsRequestId: randomUUID(),
    getRemainingTimeInMillis: () => 30_000,
    callbackWaitsForEmptyEventLoop: false,
  }) as unknown as Context;

interface CompiledRoute {
  route: RouteDefinition;
  pattern: RegExp;
  names: string[];
}

function compileRoutes(): CompiledRoute[] {
  // Literal segments win over {params}, as in API Gateway (queue-status before {id}).
  const compiled = API_ROUTES.map((route) => {
    const names: string[] = [];
    const source = route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    return { route, pattern: new RegExp(`^${source}$`), names };
  });
  return compiled.sort((a, b) => a.names.length - b.names.length);
}

/** A body this large is not even read to its end: the 413 closes the connection instead. */
const MAX_DRAINED_BYTES = 64 * 1024 * 1024;

/**
 * Reads the body; past the limit it is read on and thrown away, so the 413 is the answer to the
 * whole request and a kept-alive connection serves the client's next one (breaking off would
 * destroy the socket under the client: ECONNRESET). Past MAX_DRAINED_BYTES it stops reading.
 */
async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES + 1024) chunks.push(chunk);
      else if (size > MAX_DRAINED_BYTES) {
        req.off('data', onData);
        req.pause();
        resolve('too-large');
      }
    };
    req.on('data', onData);
    req.on('end', () => resolve(size > MAX_BODY_BYTES + 1024 ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, result: ApiResult, req?: IncomingMessage): void {
  // An answer given before the body was read to its end: close, so the client does not reuse a
  // connection that still carries the rest of this body.
  const unread = req !== undefined && !req.complete && req.headers['content-length'] !== '0' && req.method !== 'GET';
  res.writeHead(result.statusCode ?? 200, { ...(result.headers as Record<string, string>), ...(unread ? { connection: 'close' } : {}) });
  res.end(result.body ?? '');
}

/** Turns a Node request into an API Gateway HTTP API (v2) event, as the real service would. */
async function toEvent(req: IncomingMessage, options: RuntimeOptions, routes: CompiledRoute[]): Promise<ApiEvent | ApiResult> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const method = (req.method ?? 'GET').toUpperCase();
  const candidates = routes.filter((c) => c.pattern.test(url.pathname));
  const match = candidates.find((c) => c.route.method === method);
  if (!match) {
    return errorResponse(new DomainError('NOT_FOUND', candidates.length > 0 ? `${method} is not allowed on ${url.pathname}` : `No route for ${method} ${url.pathname}`));
  }
  const values = match.pattern.exec(url.pathname)?.slice(1) ?? [];
  let pathParameters: Record<string, string>;
  try {
    pathParameters = Object.fromEntries(match.names.map((name, i) => [name, decodeURIComponent(values[i] ?? '')]));
  } catch {
    return errorResponse(new ValidationError(`The path ${url.pathname.slice(0, 200)} is not valid percent-encoding`));
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  const body = await readBody(req);
  if (body === 'too-large') return errorResponse(new DomainError('PAYLOAD_TOO_LARGE', 'The body is too large'));

  let authorizer: ApiEvent['requestContext']['authorizer'];
  /** The local signer's token, or else (when the stack trusts an issuer) one the AWS authorizer's decision accepts. */
  const localOrIssuerToken = async (bearer: string): Promise<ApiEvent['requestContext']['authorizer']> => {
    try {
      return { jwt: { claims: await verifyLocalToken(options.secret, bearer), scopes: null } };
    } catch (error) {
      const context = options.authenticateBearer ? await options.authenticateBearer(bearer) : null;
      if (!context) throw error;
      return { lambda: context };
    }
  };
  if (match.route.auth === 'user') {
    const bearer = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1];
    const apiKey = headers['x-api-key'];
    try {
      if (bearer) authorizer = await localOrIssuerToken(bearer);
      else if (apiKey && options.authenticateApiKey) {
        const claims = await options.authenticateApiKey(apiKey);
        if (claims) authorizer = { lambda: claims };
      }
    } catch {
      authorizer = undefined;
    }
    if (!authorizer) return errorResponse(new UnauthorizedError());
  }
  const now = new Date();
  return {
    version: '2.0',
    routeKey: routeKey(match.route),
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
    pathParameters: match.names.length > 0 ? pathParameters : undefined,
    body: body.length > 0 ? body.toString('base64') : undefined,
    isBase64Encoded: body.length > 0,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: `127.0.0.1:${options.port}`,
      domainPrefix: '127',
      http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey: routeKey(match.route),
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      authorizer,
    },
  } as ApiEvent;
}

/** Long-polls a queue and feeds real SQS batches to a function, deleting only what succeeded. */
function startPoller(
  client: SQSClient,
  queueUrl: string,
  name: string,
  handler: (event: SQSEvent) => Promise<SQSBatchResponse | unknown>,
  signal: AbortSignal,
  options: RuntimeOptions,
  batchSize = 10,
): Promise<void> {
  const arn = `arn:aws:sqs:us-east-1:000000000000:${queueUrl.split('/').pop() ?? name}`;
  return (async () => {
    while (!signal.aborted) {
      try {
        const received = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: options.waitTimeSeconds ?? 5,
            MessageSystemAttributeNames: ['All'],
          }),
          { abortSignal: signal },
        );
        const messages = received.Messages ?? [];
        if (messages.length === 0) continue;
        const event: SQSEvent = {
          Records: messages.map((m) => ({
            messageId: m.MessageId ?? randomUUID(),
            receiptHandle: m.ReceiptHandle ?? '',
            body: m.Body ?? '',
            attributes: (m.Attributes ?? {}) as unknown as SQSEvent['Records'][number]['attributes'],
            messageAttributes: {},
            md5OfBody: m.MD5OfBody ?? '',
            eventSource: 'aws:sqs',
            eventSourceARN: arn,
            awsRegion: 'us-east-1',
          })),
        };
        let failed = new Set<string>();
        try {
          const response = (await handler(event)) as SQSBatchResponse | undefined;
          failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        } catch (error) {
          options.log?.(`${name} failed the whole batch: ${String(error)}`);
          failed = new Set(event.Records.map((r) => r.messageId));
        }
        const done = messages.filter((m) => m.MessageId && !failed.has(m.MessageId));
        if (done.length > 0) {
          await client.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
            }),
          );
        }
      } catch (error) {
        if (signal.aborted) return;
        options.log?.(`${name} poller: ${String(error)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  })();
}

const scheduledEvent = (name: string) => ({
  version: '0',
  id: randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '000000000000',
  time: new Date().toISOString(),
  region: 'us-east-1',
  resources: [`arn:aws:events:us-east-1:000000000000:rule/${name}`],
  detail: {},
});

/** Runs a scheduled function every `seconds`, never two runs at once. */
function startTimer(name: string, seconds: number, run: (event: unknown) => Promise<unknown>, options: RuntimeOptions): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    run(scheduledEvent(name))
      .catch((error: unknown) => options.log?.(`${name} failed: ${String(error)}`))
      .finally(() => (busy = false));
  }, seconds * 1000);
  return () => clearInterval(timer);
}

/**
 * The local stand-in for AWS: API Gateway (HTTP -> v2 events, JWT claims), EventBridge
 * (timers) and the SQS event source mappings (pollers with partial batch failures).
 */
export async function startLocalRuntime(options: RuntimeOptions): Promise<RunningRuntime> {
  const routes = compileRoutes();
  const server: Server = createServer((req, res) => {
    void (async () => {
      try {
        if (options.web?.handles(req)) return await options.web.serve(req, res);
        const event = await toEvent(req, options, routes);
        if (!('requestContext' in event)) return send(res, event, req);
        send(res, await options.functions.api(event, lambdaContext('api')));
      } catch (error) {
        send(res, errorResponse(error), req);
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(options.port, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;

  const abort = new AbortController();
  const client = new SQSClient({ useQueueUrlAsEndpoint: false });
  const pollers = [
    // Like the wake queue's event source: up to WAKE_CONSUMER.maxConcurrency passes at once.
    ...Array.from({ length: options.wakeConcurrency ?? WAKE_CONSUMER.maxConcurrency }, () =>
      startPoller(client, options.queues.wakeQueueUrl, 'orchestrator', (e) => options.functions.orchestrator(e), abort.signal, options, WAKE_CONSUMER.batchSize),
    ),
    // Like the Lambda's event source mapping: the spawn path's batch size (one slow start never delays others).
    startPoller(client, options.queues.spawnQueueUrl, 'spawner', options.functions.spawner, abort.signal, options, getConfig().spawn.spawnerBatchSize),
    startPoller(client, options.queues.spawnDlqUrl, 'spawn-dlq', options.functions.spawnDlq, abort.signal, options),
  ];
  // The notifier's event source mapping: the same queue and handler as in AWS.
  if (options.queues.notifyQueueUrl && options.functions.notifier) {
    pollers.push(startPoller(client, options.queues.notifyQueueUrl, 'notifier', options.functions.notifier, abort.signal, options));
  }
  const timers = [
    startTimer('orchestrator', options.pollIntervalSeconds, options.functions.orchestrator, options),
    startTimer('sweeper', options.timeoutCheckIntervalSeconds, options.functions.sweeper, options),
  ];
  // EventBridge's every-minute digest rule; the trigger picks the users due from the due index.
  if (options.functions.digestTrigger) timers.push(startTimer('digest-trigger', options.digestIntervalSeconds ?? 60, options.functions.digestTrigger, options));
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      for (const stopTimer of timers) stopTimer();
      abort.abort();
      await Promise.allSettled(pollers);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      client.destroy();
    },
  };
}
