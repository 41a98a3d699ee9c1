import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/**
 * A fake Daytona API on 127.0.0.1 with the request and response shapes DaytonaSandboxProvider
 * uses: sandboxes (list by JSON `labels`, create, get, start, replace labels, delete) and the
 * toolbox API under `/toolbox/{id}/...` (each sandbox's `toolboxProxyUrl` points there): process
 * sessions, `process/execute` and the git endpoints. It records every call. With `run: true`
 * each sandbox is a real directory on this machine: git calls run the system git there, execute
 * and session commands run `sh -c` there (HOME is the sandbox's directory); without it, an exec
 * only records its command.
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
  /** With `run`: the sandbox's home and working directory on this machine. */
  root?: string;
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

export async function startFakeDaytona(options: { apiKey?: string; run?: boolean } = {}): Promise<FakeDaytona> {
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
        ...(options.run ? { root: mkdtempSync(join(tmpdir(), 'fake-daytona-')) } : {}),
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
        if (sandbox.root) rmSync(sandbox.root, { recursive: true, force: true });
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
    if (method === 'PUT' && (match = path.match(/^\/sandbox\/([^/]+)\/labels$/))) {
      const sandbox = sandboxes.get(decodeURIComponent(match[1] ?? ''));
      if (!sandbox) return send(res, 404, { statusCode: 404, message: 'Sandbox not found' });
      sandbox.labels = ((call.body ?? {}) as { labels?: Record<string, string> }).labels ?? {};
      return send(res, 200, { labels: sandbox.labels });
    }
    if ((match = path.match(/^\/toolbox\/([^/]+)\/(git\/[a-z]+|process\/execute)$/))) {
      const sandbox = sandboxes.get(decodeURIComponent(match[1] ?? ''));
      if (!sandbox) return send(res, 404, { statusCode: 404, message: 'Sandbox not found' });
      if (!sandbox.root) return send(res, 501, { message: 'start the fake with run: true for git and execute' });
      void toolboxCall(sandbox, method, match[2] ?? '', call).then(([status, answer]) => send(res, status, answer));
      return;
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
        const recorded: FakeDaytonaCommand = { id: cmdId, command: command ?? '', exitCode: null, logs: '' };
        commands.push(recorded);
        if (sandbox.root) runInBackground(sandbox.root, recorded);
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

/** The toolbox's git and execute endpoints, for real, in the sandbox's directory. */
async function toolboxCall(sandbox: FakeDaytonaSandbox, method: string, route: string, call: FakeDaytonaCall): Promise<[number, unknown]> {
  const root = sandbox.root as string;
  const body = (call.body ?? {}) as Record<string, unknown>;
  const at = (path: unknown) => (typeof path === 'string' && isAbsolute(path) ? path : join(root, String(path ?? '')));
  const fail = (output: string): [number, unknown] => [400, { statusCode: 400, message: output.trim() || 'git failed', code: 'BAD_REQUEST' }];
  const git = async (cwd: string, ...args: string[]) => run('git', args, cwd, root);
  switch (`${method} ${route}`) {
    case 'POST process/execute': {
      const result = await run('/bin/sh', ['-c', String(body.command ?? '')], body.cwd ? at(body.cwd) : root, root);
      return [200, { exitCode: result.code, result: result.output }];
    }
    case 'POST git/clone': {
      const ref = typeof body.branch === 'string' ? ['--branch', body.branch] : [];
      const cloned = await git(root, 'clone', '--quiet', ...ref, '--', String(body.url), at(body.path));
      if (cloned.code !== 0) return fail(cloned.output);
      if (typeof body.commit_id === 'string') {
        const checked = await git(at(body.path), 'checkout', '--quiet', '--detach', body.commit_id);
        if (checked.code !== 0) return fail(checked.output);
      }
      return [200, {}];
    }
    case 'GET git/status': {
      const cwd = at(call.query.path);
      const branch = await git(cwd, 'rev-parse', '--abbrev-ref', 'HEAD');
      const status = await git(cwd, 'status', '--porcelain');
      if (status.code !== 0) return fail(status.output);
      const fileStatus = status.output
        .split('\n')
        .filter(Boolean)
        .map((line) => ({ name: line.slice(3), staging: line[0] === ' ' ? 'Unmodified' : line[0] === '?' ? 'Untracked' : 'Modified', worktree: line[1] === ' ' ? 'Unmodified' : line[1] === '?' ? 'Untracked' : 'Modified', extra: '' }));
      return [200, { currentBranch: branch.output.trim(), fileStatus, ahead: 0, behind: 0, branchPublished: false }];
    }
    case 'POST git/add': {
      const added = await git(at(body.path), 'add', '--', ...((body.files as string[] | undefined) ?? ['.']));
      return added.code === 0 ? [200, {}] : fail(added.output);
    }
    case 'POST git/commit': {
      const cwd = at(body.path);
      const committed = await git(cwd, '-c', `user.name=${String(body.author)}`, '-c', `user.email=${String(body.email)}`, 'commit', '--quiet', ...(body.allow_empty ? ['--allow-empty'] : []), '-m', String(body.message));
      if (committed.code !== 0) return fail(committed.output);
      return [200, { hash: (await git(cwd, 'rev-parse', 'HEAD')).output.trim() }];
    }
    case 'POST git/push': {
      const pushed = await git(at(body.path), 'push', '--quiet', 'origin', 'HEAD');
      return pushed.code === 0 ? [200, {}] : fail(pushed.output);
    }
    case 'GET git/branches': {
      const listed = await git(at(call.query.path), 'branch', '--format=%(refname:short)');
      return listed.code === 0 ? [200, { branches: listed.output.split('\n').filter(Boolean) }] : fail(listed.output);
    }
    case 'POST git/branches': {
      const created = await git(at(body.path), 'branch', String(body.name));
      return created.code === 0 ? [201, {}] : fail(created.output);
    }
    case 'POST git/checkout': {
      const checked = await git(at(body.path), 'checkout', '--quiet', String(body.branch));
      return checked.code === 0 ? [200, {}] : fail(checked.output);
    }
    default:
      return [404, { statusCode: 404, message: `No fake route for ${method} ${route}` }];
  }
}

/** A sandbox's environment: its own HOME; GIT_CONFIG_GLOBAL passes through so tests can map remote URLs to local repositories. */
function sandboxEnv(home: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: home, GIT_TERMINAL_PROMPT: '0', ...(process.env.GIT_CONFIG_GLOBAL ? { GIT_CONFIG_GLOBAL: process.env.GIT_CONFIG_GLOBAL } : {}) };
}

function run(file: string, args: string[], cwd: string, home: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env: sandboxEnv(home), maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** A session command run for real: its output becomes the command's logs, its exit its exitCode. */
function runInBackground(root: string, command: FakeDaytonaCommand): void {
  const child = spawn('/bin/sh', ['-c', command.command], { cwd: root, env: sandboxEnv(root) });
  child.stdout.on('data', (chunk: Buffer) => (command.logs += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (command.logs += chunk.toString('utf8')));
  child.on('exit', (code) => (command.exitCode = code ?? -1));
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
