import { createServer, type Server } from 'node:http';

export interface FakePull {
  number: number;
  owner: string;
  repo: string;
  head: string;
  base: string;
  title: string;
  draft: boolean;
  html_url: string;
}

/**
 * Enough of GitHub's REST API for draft pull requests (list open by head, create; 422 for a
 * second one on the same head), on 127.0.0.1. Records what it was asked and with which token.
 */
export async function startFakeGitHub(token: string): Promise<{ url: string; pulls: FakePull[]; requests: string[]; stop(): Promise<void> }> {
  const pulls: FakePull[] = [];
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      requests.push(`${req.method} ${url.pathname}${url.search}`);
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.headers.authorization !== `Bearer ${token}`) return send(401, { message: 'Bad credentials' });
      const match = /^\/repos\/([^/]+)\/([^/]+)\/pulls$/.exec(url.pathname);
      if (!match) return send(404, { message: 'Not Found' });
      const [, owner, repo] = match as unknown as [string, string, string];
      if (req.method === 'GET') {
        const head = url.searchParams.get('head') ?? '';
        return send(200, pulls.filter((pull) => pull.owner === owner && pull.repo === repo && `${owner}:${pull.head}` === head));
      }
      if (req.method === 'POST') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { title: string; head: string; base: string; draft?: boolean };
        if (pulls.some((pull) => pull.owner === owner && pull.repo === repo && pull.head === body.head)) {
          return send(422, { message: 'Validation Failed', errors: [{ message: `A pull request already exists for ${owner}:${body.head}.` }] });
        }
        const pull: FakePull = { number: pulls.length + 1, owner, repo, head: body.head, base: body.base, title: body.title, draft: body.draft ?? false, html_url: `https://github.test/${owner}/${repo}/pull/${pulls.length + 1}` };
        pulls.push(pull);
        return send(201, pull);
      }
      return send(405, { message: 'Method Not Allowed' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, pulls, requests, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}
