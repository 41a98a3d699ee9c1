/** A webhook URL as shown back to people: scheme and host, then only the last 4 characters. */
export function maskUrl(text: string): string {
  try {
    const url = new URL(text);
    const rest = `${url.pathname}${url.search}`;
    return rest.length <= 1 ? url.origin : `${url.origin}/…${rest.slice(-4)}`;
  } catch {
    return '…';
  }
}

/** A signing secret as shown back: the prefix and the last 4 characters. */
export const maskSecret = (secret: string): string => `${secret.slice(0, 6)}…${secret.slice(-4)}`;
