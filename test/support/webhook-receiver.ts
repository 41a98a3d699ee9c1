import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface ReceivedHook {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * A webhook receiver on 127.0.0.1, as a person would run to try Nightshift's notifications.
 * `answer(path, count)` decides the status (and an optional Location) of the count-th request to a path.
 */
export async function startWebhookReceiver(
  answer: (path: string, count: number) => { status: number; location?: string; hang?: boolean } = () => ({ status: 200 }),
): Promise<{ url: string; port: number; received: ReceivedHook[]; stop(): Promise<void> }> {
  const received: ReceivedHook[] = [];
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const count = (counts.get(path) ?? 0) + 1;
      counts.set(path, count);
      const reply = answer(path, count);
      if (reply.hang) return; // never answers: the notifier's timeout must end it
      res.writeHead(reply.status, reply.location ? { location: reply.location } : {});
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
