// Which IP addresses the sandbox must never reach through understudy (unless the operator named them):
// this machine's loopback, link-local and private networks, and addresses with no business in a
// repository URL (unspecified, multicast, reserved). IPv4-mapped, NAT64 and 6to4 IPv6 addresses are judged
// by the IPv4 address inside them. Pure parsing, no resolver (the adapter resolves, then asks here).

type V4 = [number, number, number, number];

export function parseIpv4(s: string): V4 | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  return parts.every((n) => n <= 255) ? parts as V4 : undefined;
}

/** Eight 16-bit groups, or undefined. Accepts '::' compression, an embedded IPv4 tail and a %zone. */
export function parseIpv6(input: string): number[] | undefined {
  let s = input.replace(/%.*$/, '');
  // an IPv4 tail (::ffff:1.2.3.4) becomes its two groups
  const v4 = /(^|:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(s);
  if (v4) {
    const p = parseIpv4(v4[2]!);
    if (!p || !v4[1]) return undefined;
    s = s.slice(0, v4.index + 1) + `${((p[0] << 8) | p[1]).toString(16)}:${((p[2] << 8) | p[3]).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]!), rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (![...head, ...rest].every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  const known = head.length + rest.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return undefined;
  const zeros = halves.length === 2 ? new Array<number>(8 - known).fill(0) : [];
  return [...head, ...zeros.map(String), ...rest].map((g) => parseInt(g, 16));
}

function v4Reason([a, b, c]: V4): string | undefined {
  if (a === 0) return 'this-network address (0.0.0.0/8)';
  if (a === 127) return 'loopback';
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'private network (RFC 1918)';
  if (a === 100 && b >= 64 && b <= 127) return 'shared address space (CGNAT, RFC 6598)';
  if (a === 169 && b === 254) return 'link-local';
  if (a === 192 && b === 0 && c === 0) return 'IETF protocol assignment (192.0.0.0/24)';
  if (a === 198 && (b === 18 || b === 19)) return 'benchmarking network (198.18.0.0/15)';
  if (a >= 224 && a <= 239) return 'multicast';
  if (a >= 240) return 'reserved (240.0.0.0/4)';
  return undefined;
}

/**
 * Why `ip` is off limits for the sandbox (e.g. 'loopback', 'private network (RFC 1918)'), or undefined for
 * an ordinary public address. A string that is no IP address at all is 'not an IP address'.
 */
export function restrictedAddressReason(ip: string): string | undefined {
  const v4 = parseIpv4(ip);
  if (v4) return v4Reason(v4);
  const g = parseIpv6(ip);
  if (!g) return 'not an IP address';
  const embedded = (hi: number, lo: number): V4 => [hi >> 8, hi & 255, lo >> 8, lo & 255];
  if (g.every((x) => x === 0)) return 'unspecified address (::)';
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'loopback';
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible), 64:ff9b::a.b.c.d (NAT64): the IPv4 address decides
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) return v4Reason(embedded(g[6]!, g[7]!));
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return v4Reason(embedded(g[6]!, g[7]!));
  if (g[0] === 0x2002) return v4Reason(embedded(g[1]!, g[2]!)); // 6to4
  if ((g[0]! & 0xfe00) === 0xfc00) return 'private network (unique local, fc00::/7)';
  if ((g[0]! & 0xffc0) === 0xfe80) return 'link-local';
  if ((g[0]! & 0xffc0) === 0xfec0) return 'site-local (fec0::/10)';
  if ((g[0]! & 0xff00) === 0xff00) return 'multicast';
  if (g[0] === 0x100 && g.slice(1, 4).every((x) => x === 0)) return 'discard prefix (100::/64)';
  return undefined;
}

/** The canonical text of an IP (IPv6 as eight lower-case groups) for comparing addresses. */
export function canonicalIp(ip: string): string | undefined {
  const v4 = parseIpv4(ip);
  if (v4) return v4.join('.');
  const g = parseIpv6(ip);
  if (!g) return undefined;
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return [g[6]! >> 8, g[6]! & 255, g[7]! >> 8, g[7]! & 255].join('.');
  return g.map((x) => x.toString(16)).join(':');
}

export const isIpLiteral = (s: string): boolean => parseIpv4(s) !== undefined || parseIpv6(s) !== undefined;
