/*
 * Which network addresses a webhook may be delivered to. A webhook URL is chosen by a user, so
 * the notifier must never become a way into the private network (SSRF): every address a host
 * resolves to is checked, private, loopback, link-local, metadata and reserved ranges are refused,
 * and IPv6 forms that embed an IPv4 address (mapped, NAT64, 6to4) are judged by that address.
 * Kept free of node:net so the rules are pure and tested with tables.
 */

/** Refused IPv4 ranges: [first octets as a 32-bit network, prefix length, why]. */
const IPV4_REFUSED: readonly [string, number, string][] = [
  ['0.0.0.0', 8, 'this network'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

/** Parses a dotted-quad IPv4 address (the canonical form DNS and the URL parser produce). */
export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

const inV4Range = (address: number, network: string, prefix: number): boolean => {
  const base = parseIpv4(network) ?? 0;
  const size = 2 ** (32 - prefix);
  return Math.floor(address / size) === Math.floor(base / size);
};

/** Parses an IPv6 address (with `::` and an optional trailing dotted IPv4) into 8 16-bit groups. */
export function parseIpv6(text: string): number[] | null {
  let input = text.toLowerCase();
  if (input.startsWith('[') && input.endsWith(']')) input = input.slice(1, -1);
  const zone = input.indexOf('%');
  if (zone >= 0) input = input.slice(0, zone);
  if (!/^[0-9a-f:.]+$/.test(input) || !input.includes(':')) return null;
  // A trailing dotted IPv4 (::ffff:127.0.0.1) becomes its two hex groups.
  const lastColon = input.lastIndexOf(':');
  const last = input.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = parseIpv4(last);
    if (v4 === null) return null;
    input = `${input.slice(0, lastColon + 1)}${Math.floor(v4 / 65536).toString(16)}:${(v4 % 65536).toString(16)}`;
  }
  const halves = input.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string): number[] | null => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (const group of groups) {
      if (!/^[0-9a-f]{1,4}$/.test(group)) return null;
      out.push(parseInt(group, 16));
    }
    return out;
  };
  const head = parse(halves[0] ?? '');
  const rest = halves.length === 2 ? parse(halves[1] ?? '') : [];
  if (!head || !rest) return null;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - rest.length;
    if (missing < 1) return null;
    groups = [...head, ...new Array<number>(missing).fill(0), ...rest];
  } else {
    if (head.length !== 8) return null;
    groups = head;
  }
  return groups;
}

export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

const refused = (reason: string): AddressVerdict => ({ allowed: false, reason });
const ALLOWED: AddressVerdict = { allowed: true };

function judgeIpv4(address: number, allowLoopback: boolean): AddressVerdict {
  if (allowLoopback && address === parseIpv4('127.0.0.1')) return ALLOWED;
  if (address === 0xffffffff) return refused('broadcast');
  for (const [network, prefix, why] of IPV4_REFUSED) {
    if (inV4Range(address, network, prefix)) return refused(why);
  }
  return ALLOWED;
}

function judgeIpv6(groups: number[], allowLoopback: boolean): AddressVerdict {
  const g = (i: number) => groups[i] ?? 0;
  const embeddedV4 = (hi: number, lo: number) => g(hi) * 65536 + g(lo);
  const zeros = (from: number, to: number) => groups.slice(from, to).every((x) => x === 0);
  if (zeros(0, 8)) return refused('unspecified');
  if (zeros(0, 7) && g(7) === 1) return refused('loopback');
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated) are IPv4 in disguise.
  if (zeros(0, 5) && g(5) === 0xffff) return judgeIpv4(embeddedV4(6, 7), allowLoopback);
  if (zeros(0, 6)) return refused('IPv4-compatible');
  if (g(0) === 0x64 && g(1) === 0xff9b && zeros(2, 6)) return judgeIpv4(embeddedV4(6, 7), false);
  if (g(0) === 0x2002) return judgeIpv4(embeddedV4(1, 2), false);
  if ((g(0) & 0xffc0) === 0xfe80) return refused('link-local');
  if ((g(0) & 0xffc0) === 0xfec0) return refused('site-local');
  if ((g(0) & 0xfe00) === 0xfc00) return refused('unique local (private)');
  if ((g(0) & 0xff00) === 0xff00) return refused('multicast');
  if (g(0) === 0x2001 && g(1) === 0x0db8) return refused('documentation');
  if (g(0) === 0x0100 && zeros(1, 4)) return refused('discard');
  return ALLOWED;
}

/**
 * Whether the notifier may connect to `address` (an IPv4 or IPv6 literal). `allowLoopback`
 * (NOTIFICATIONS_ALLOW_LOOPBACK=1, one machine only) lets 127.0.0.1 through and nothing else.
 */
export function judgeAddress(address: string, allowLoopback: boolean): AddressVerdict {
  const v4 = parseIpv4(address);
  if (v4 !== null) return judgeIpv4(v4, allowLoopback);
  const v6 = parseIpv6(address);
  if (v6 !== null) return judgeIpv6(v6, allowLoopback);
  return refused('not an IP address');
}

/** The host of a URL as the WHATWG parser canonicalised it (decimal/hex IPv4 become dotted). */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[|\]$/g, '');

/** True when the URL's host is an IP literal (then no DNS lookup is needed to judge it). */
export const isIpLiteral = (host: string): boolean => parseIpv4(host) !== null || parseIpv6(host) !== null;

/** Checks a webhook URL before it is stored: scheme, no credentials, and a literal host's address. */
export function judgeWebhookUrl(text: string, allowLoopback: boolean): AddressVerdict {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return refused('not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return refused('only http and https URLs');
  if (url.username || url.password) return refused('credentials in the URL');
  const host = hostOf(url);
  if (isIpLiteral(host)) return judgeAddress(host, allowLoopback);
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal') || host.endsWith('.local')) {
    return allowLoopback && host === 'localhost' ? refused('use 127.0.0.1 rather than localhost') : refused('a local host name');
  }
  return ALLOWED;
}
