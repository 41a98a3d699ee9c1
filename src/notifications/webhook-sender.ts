import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { hostOf, isIpLiteral, judgeAddress } from './address-rules.js';
import { DELIVERY_TIMEOUT_MS } from './delivery-policy.js';

export type WebhookOutcome =
  | { kind: 'answered'; status: number }
  /** Nothing was sent: the address is not allowed or a redirect leaves the host. Not retried. */
  | { kind: 'refused'; error: string }
  /** Network error or timeout: retried. */
  | { kind: 'unreachable'; error: string };

const MAX_REDIRECTS = 3;

class RefusedAddressError extends Error {}

/**
 * A DNS lookup that answers only with addresses the rules allow, and refuses the host when any
 * of its addresses is not: the socket connects to exactly the address that was checked, so a
 * host cannot pass the check and then resolve elsewhere (DNS rebinding).
 */
function guardedLookup(allowLoopback: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const list = addresses as unknown as LookupAddress[];
      const bad = list.map((a) => ({ a, verdict: judgeAddress(a.address, allowLoopback) })).find((x) => !x.verdict.allowed);
      if (list.length === 0) return callback(new Error(`${hostname} has no address`), '', 0);
      if (bad && !bad.verdict.allowed) return callback(new RefusedAddressError(`${hostname} resolves to ${bad.a.address} (${bad.verdict.reason})`), '', 0);
      if (options.all) return callback(null, list);
      const first = list[0] as LookupAddress;
      return callback(null, first.address, first.family);
    });
  };
}

function send(url: URL, body: string, headers: Record<string, string>, allowLoopback: boolean, signal: AbortSignal): Promise<IncomingMessage> {
  const host = hostOf(url);
  if (isIpLiteral(host)) {
    const verdict = judgeAddress(host, allowLoopback);
    if (!verdict.allowed) return Promise.reject(new RefusedAddressError(`${host} is not allowed (${verdict.reason})`));
  }
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, lookup: guardedLookup(allowLoopback), signal },
      (res) => {
        res.resume(); // the answer's body is not needed; reading it frees the socket
        resolve(res);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * POSTs a webhook with a 10 s budget for the whole exchange. Redirects are followed only to the
 * same host (scheme and port may change), at most three times; a redirect elsewhere is refused,
 * so a receiver cannot bounce signed events to a third party or into the private network.
 */
export async function postWebhook(target: string, body: string, headers: Record<string, string>, allowLoopback: boolean, timeoutMs = DELIVERY_TIMEOUT_MS): Promise<WebhookOutcome> {
  const signal = AbortSignal.timeout(timeoutMs);
  let url = new URL(target);
  try {
    for (let hop = 0; ; hop += 1) {
      const res = await send(url, body, headers, allowLoopback, signal);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (![301, 302, 303, 307, 308].includes(status) || !location) return { kind: 'answered', status };
      const next = new URL(location, url);
      if (next.hostname !== url.hostname) return { kind: 'refused', error: `redirect to another host (${next.hostname}) not followed` };
      if (hop >= MAX_REDIRECTS) return { kind: 'answered', status };
      url = next;
    }
  } catch (error) {
    if (error instanceof RefusedAddressError) return { kind: 'refused', error: error.message };
    if (signal.aborted) return { kind: 'unreachable', error: `no answer within ${Math.round(timeoutMs / 1000)} s` };
    return { kind: 'unreachable', error: error instanceof Error ? error.message : String(error) };
  }
}
