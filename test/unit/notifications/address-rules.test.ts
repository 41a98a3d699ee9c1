import { describe, expect, it } from 'vitest';
import { judgeAddress, judgeWebhookUrl, parseIpv6 } from '../../../src/notifications/address-rules.js';

describe('webhook address rules', () => {
  it.each([
    '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.1.1', '127.0.0.1', '127.1.2.3', '169.254.169.254', '0.0.0.0', '100.64.0.1',
    '224.0.0.1', '255.255.255.255', '198.18.0.1',
    '::1', '::', 'fe80::1', 'fe80::1%eth0', 'fc00::1', 'fd00:ec2::254', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1',
    '::ffff:169.254.169.254', '64:ff9b::a9fe:a9fe', '2002:7f00:1::', '::127.0.0.1', '2001:db8::1', 'fec0::1',
  ])('refuses %s', (address) => {
    expect(judgeAddress(address, false).allowed).toBe(false);
  });

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e', '::ffff:8.8.8.8', '64:ff9b::808:808'])('allows the public address %s', (address) => {
    expect(judgeAddress(address, false)).toEqual({ allowed: true });
  });

  it('with NOTIFICATIONS_ALLOW_LOOPBACK allows 127.0.0.1 and nothing else private', () => {
    expect(judgeAddress('127.0.0.1', true).allowed).toBe(true);
    expect(judgeAddress('::ffff:127.0.0.1', true).allowed).toBe(true);
    for (const address of ['127.0.0.2', '::1', '10.0.0.1', '169.254.169.254', '192.168.0.1']) expect(judgeAddress(address, true).allowed).toBe(false);
  });

  it.each([
    ['decimal IPv4', 'http://2130706433/hook'],
    ['hex IPv4', 'http://0x7f000001/hook'],
    ['dotted hex', 'http://0x7f.0.0.1/hook'],
    ['octal', 'http://0177.0.0.1/hook'],
    ['short form', 'http://127.1/hook'],
    ['metadata in decimal', 'http://2852039166/latest/meta-data'],
    ['bracketed IPv6 loopback', 'http://[::1]:8080/hook'],
    ['IPv4-mapped IPv6', 'http://[::ffff:169.254.169.254]/'],
    ['localhost', 'http://localhost:3000/hook'],
    ['a .internal name', 'https://metadata.google.internal/'],
    ['credentials in the URL', 'https://user:pass@example.com/hook'],
    ['another scheme', 'ftp://example.com/hook'],
    ['not a URL', 'example.com/hook'],
  ])('refuses a URL with %s', (_what, url) => {
    expect(judgeWebhookUrl(url, false).allowed).toBe(false);
  });

  it('refuses tricks for 127.0.0.1 even with loopback allowed only where they are not 127.0.0.1 itself', () => {
    // The URL parser turns every spelling of 127.0.0.1 into 127.0.0.1: allowed on one machine, like the plain form.
    expect(judgeWebhookUrl('http://2130706433:9/x', true).allowed).toBe(true);
    expect(judgeWebhookUrl('http://0x7f000002/x', true).allowed).toBe(false);
    expect(judgeWebhookUrl('http://[::1]/x', true).allowed).toBe(false);
  });

  it('allows public https and http URLs by name (their addresses are checked at delivery)', () => {
    expect(judgeWebhookUrl('https://hooks.slack.com/services/T0/B0/x', false)).toEqual({ allowed: true });
    expect(judgeWebhookUrl('http://example.com/hook', false)).toEqual({ allowed: true });
  });

  it('parses IPv6 forms into eight groups', () => {
    expect(parseIpv6('::1')).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIpv6('::ffff:1.2.3.4')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]);
    expect(parseIpv6('2001:db8::8:800:200c:417a')).toEqual([0x2001, 0xdb8, 0, 0, 8, 0x800, 0x200c, 0x417a]);
    expect(parseIpv6('1::2::3')).toBeNull();
    expect(parseIpv6('12345::')).toBeNull();
  });
});
