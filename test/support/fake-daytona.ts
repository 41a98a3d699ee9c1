import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake Daytona API on 127.0.0.1 with the request and response shapes DaytonaSandboxProvider
 * uses: sandboxes (list by JSON `labels`, create, get, start, delete) and the toolbox session
 * API under `/toolbox/{id}/...` (each sandbox's `toolboxProxyUrl` points there). It records
 * every call and never runs anything: an exec just records its command.
 */

export interface FakeDaytonaCall {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
  body: unknown;
}

export interface FakeDaytonaSandbox {
  id: string;
  state: string;
  /** When the state last changed, as Daytona reports it (ISO); absent until a test sets it. */
  updatedAt?: string;
  labels: Record<string, string>;
  snapshot?: string;
  target?: string;
  buildInfo?: unknown;
  toolboxProxyUrl: string;
  sessions: Map<string, FakeDaytonaCommand[]>;
}

export interface FakeDaytonaCommand {
  id: string;
  command: string;
  exitCode: number | null;
  logs: string;
}

export interface FakeDaytona {
  /** Base URL to give the provider as `apiUrl`. */
  url: string;
  calls: FakeDaytonaCall[];
  sandboxes: Map<string, FakeDaytonaSandbox>;
  /** The next `count` POST /sandbox answer `status` (default 500) instead of creating. */
  failNextCreates(count: number, status?: number): void;
  /** New sandboxes start in this state and become `started` after `getsUntilStarted` GETs. */
  createAs(state: string, getsUntilStarted?: number): void;
  callsTo(method: string, pathPattern: RegExp): FakeDaytonaCall[];
  /** Answer 503 to every GET of one sandbox (Daytona cannot tell about it right now). */
  failGetsOf(sandboxId: string): void;
  close(): Promise<void>;
}

export async function startFakeDaytona(options: { apiKey?: string } = {}): Promise<FakeDaytona> {
  const calls: FakeDaytonaCall[] = [];
  const sandboxes = new Map<string, FakeDaytonaSandbox>();
  const pendingGets = new Map<string, number>();
  let failCreates = 0;
  let failStatus = 500;
  const unreadable = new Set<string>();
  let initialState = 'started';
  let getsUntilStarted = 0;
  let nextId = 1;
  let url = '';

  const server: Server = createServer((req, res) => {
    void readBody(req).then((raw) => {
      const parsed = new URL(req.url ?? '/', 'http://127.0.0.1');
      let body: unknown = undefined;
      if (raw) {
        try {
          body = JSON.parse(raw);
        } catch {
          body = raw;
        }
      }
      const call: FakeDaytonaCall = {
        method: req.method ?? 'GET',
        path: parsed.pathname,
        query: Object.fromEntries(parsed.searchParams),
        authorization: req.headers.authorization,
        body,
      };
      calls.push(call);
      if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
        return send(res, 401, { statusCode: 401, message: 'Unauthorized' });
      }
      route(call, res);
    });
  });

  function route(call: FakeDaytonaCall, res: ServerResponse): void {
    const { method, path } = call;
    let match: RegExpMatchArray | null;

    if (method === 'GET' && path === '/sandbox') {
      const filter = call.query.labels ? (JSON.parse(call.query.labels) as Record<string, string>) : {};
      const found = [...sandboxes.values()].filter((sandbox) =>
        Object.entries(filter).every(([key, value]) => sandbox.labels[key] === value),
      );
      return send(res, 200, found.map(view));
    }
    if (method === 'POST' && path === '/sandbox') {
      if (failCreates > 0) {
        failCreates--;
        return send(res, failStatus, { statusCode: failStatus, message: 'Injected failure', error: 'Fake' });
      }
      const request = (call.body ?? {}) as Partial<FakeDaytonaSandbox>;
      const id = `fake-sandbox-${nextId++}`;
      const sandbox: FakeDaytonaSandbox = {
        id,
        state: initialState,
        labels: request.labels ?? {},
        snapshot: request.snapshot,
        target: request.target,
        buildInfo: request.buildInfo,
        toolboxProxyUrl: `${url}/toolbox`,
        sessions: new Map(),
      };
      sandboxes.set(id, sandbox);
      pendingGets.set(id, getsUntilStarted);
      return send(res, 200, view(sandbox));
    }
    if ((match = path.match(/^\/sandbox\/([^/]+)$/))) {
      const sandbox = sandboxes.get(decodeURIComponent(match[1] ?? ''));
      if (!sandbox) return send(res, 404, { statusCode: 404, message: 'Sandbox not found' });
      if (method === 'DELETE') {
        sandboxes.delete(sandbox.id);
        return send(res, 200, {});
      }
      if (method === 'GET') {
        if (unreadable.has(sandbox.id)) return send(res, 503, { statusCode: 503, message: 'Service unavailable' });
        // Only a new sandbox starts by itself; one a test stopped later stays stopped.
        const left = pendingGets.get(sandbox.id) ?? 0;
        if (left === 1 && sandbox.state !== 'started' && sandbox.state !== 'error') sandbox.state = 'started';
        if (left > 0) pendingGets.set(sandbox.id, left - 1);
        return send(res, 200, view(sandbox));
      }
    }
    if (method === 'POST' && (match = path.match(/^\/sandbox\/([^/]+)\/start$/))) {
      const sandbox = sandboxes.get(decodeURIComponent(match[1] ?? ''));
      if (!sandbox) return send(res, 404, { statusCode: 404, message: 'Sandbox not found' });
      sandbox.state = 'started';
      return send(res, 200, view(sandbox));
    }
    if ((match = path.match(/^\/toolbox\/([^/]+)\/process\/session(?:\/([^/]+))?(\/exec|\/command\/([^/]+)\/logs)?$/))) {
      const sandbox = sandboxes.get(decodeURIComponent(match[1] ?? ''));
      if (!sandbox) return send(res, 404, { statusCode: 404, message: 'Sandbox not found' });
      const sessionId = match[2] ? decodeURIComponent(match[2]) : undefined;
      const tail = match[3];
      if (method === 'POST' && !sessionId) {
        const requested = (call.body as { sessionId?: string } | undefined)?.sessionId ?? '';
        if (sandbox.sessions.has(requested)) return send(res, 409, { message: 'session already exists' });
        sandbox.sessions.set(requested, []);
        return send(res, 201, '');
      }
      const commands = sessionId ? sandbox.sessions.get(sessionId) : undefined;
      if (!commands) return send(res, 404, { message: 'session not found' });
      if (method === 'GET' && !tail) {
        return send(res, 200, {
          sessionId,
          commands: commands.map(({ id, command, exitCode }) => ({ id, command, exitCode })),
        });
      }
      if (method === 'POST' && tail === '/exec') {
        const { command } = (call.body ?? {}) as { command?: string };
        const cmdId = `cmd-${commands.length + 1}`;
        commands.push({ id: cmdId, command: command ?? '', exitCode: null, logs: '' });
        return send(res, 202, { cmdId });
      }
      if (method === 'GET' && match[4]) {
        const command = commands.find((candidate) => candidate.id === decodeURIComponent(match?.[4] ?? ''));
        if (!command) return send(res, 404, { message: 'command not found' });
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(command.logs);
        return;
      }
    }
    send(res, 404, { statusCode: 404, message: `No fake route for ${method} ${path}` });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    calls,
    sandboxes,
    failNextCreates(count, status = 500) {
      failCreates = count;
      failStatus = status;
    },
    createAs(state, gets = 1) {
      initialState = state;
      getsUntilStarted = gets;
    },
    failGetsOf(sandboxId) {
      unreadable.add(sandboxId);
    },
    callsTo(method, pathPattern) {
      return calls.filter((call) => call.method === method && pathPattern.test(call.path));
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function view(sandbox: FakeDaytonaSandbox) {
  return {
    id: sandbox.id,
    state: sandbox.state,
    ...(sandbox.updatedAt ? { updatedAt: sandbox.updatedAt } : {}),
    labels: sandbox.labels,
    snapshot: sandbox.snapshot,
    target: sandbox.target ?? 'us',
    toolboxProxyUrl: sandbox.toolboxProxyUrl,
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (body === '') {
    res.writeHead(status);
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
