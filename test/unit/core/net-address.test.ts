// What the sandbox may never reach through the proxy: loopback, link-local, private, special addresses,
// also when wrapped in IPv6 (mapped, NAT64, 6to4).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalIp, parseIpv6, restrictedAddressReason } from '../../../main/core/domain/net-address.ts';

describe('restrictedAddressReason', () => {
  it('refuses loopback, private, link-local and special IPv4', () => {
    const cases: Array<[string, RegExp]> = [
      ['127.0.0.1', /loopback/], ['127.255.1.2', /loopback/], ['10.0.2.2', /RFC 1918/], ['172.16.0.1', /RFC 1918/],
      ['172.31.255.255', /RFC 1918/], ['192.168.1.1', /RFC 1918/], ['169.254.169.254', /link-local/],
      ['100.64.0.1', /CGNAT/], ['100.127.255.255', /CGNAT/], ['0.0.0.0', /this-network/], ['224.0.0.1', /multicast/],
      ['255.255.255.255', /reserved/], ['198.18.0.1', /benchmarking/], ['192.0.0.8', /IETF/],
    ];
    for (const [ip, why] of cases) assert.match(restrictedAddressReason(ip) ?? 'allowed', why, ip);
  });
  it('lets public IPv4 through', () => {
    for (const ip of ['1.1.1.1', '172.15.0.1', '172.32.0.1', '100.63.0.1', '100.128.0.1', '192.169.0.1', '203.0.113.80', '8.8.8.8']) {
      assert.equal(restrictedAddressReason(ip), undefined, ip);
    }
  });
  it('judges IPv6, and IPv4 inside IPv6 by the IPv4 address', () => {
    const cases: Array<[string, RegExp]> = [
      ['::1', /loopback/], ['::', /unspecified/], ['fe80::1%eth0', /link-local/], ['fd00::5', /unique local/],
      ['fc12:3456::1', /unique local/], ['ff02::1', /multicast/], ['::ffff:127.0.0.1', /loopback/],
      ['::ffff:7f00:1', /loopback/], ['64:ff9b::10.1.2.3', /RFC 1918/], ['2002:c0a8:0101::1', /RFC 1918/],
      ['::ffff:169.254.169.254', /link-local/], ['0:0:0:0:0:0:0:1', /loopback/],
    ];
    for (const [ip, why] of cases) assert.match(restrictedAddressReason(ip) ?? 'allowed', why, ip);
    for (const ip of ['2a00:1450:4001:81b::200e', '2001:db8::1', '::ffff:8.8.8.8', '2002:0808:0808::1']) {
      assert.equal(restrictedAddressReason(ip), undefined, ip);
    }
  });
  it('says so for what is no address', () => {
    for (const s of ['example.org', '1.2.3', '1.2.3.256', '1:2:3', '1::2::3', '12345::', ':::']) {
      assert.equal(restrictedAddressReason(s), 'not an IP address', s);
    }
  });
  it('parses IPv6 forms to the same groups', () => {
    assert.deepEqual(parseIpv6('::ffff:1.2.3.4'), [0, 0, 0, 0, 0, 0xffff, 0x102, 0x304]);
    assert.deepEqual(parseIpv6('1::'), [1, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(parseIpv6('1:2:3:4:5:6:7:8'), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(parseIpv6('1:2:3:4:5:6:7:8:9'), undefined);
    assert.equal(canonicalIp('::FFFF:127.0.0.1'), '127.0.0.1');
    assert.equal(canonicalIp('0::1'), canonicalIp('::1'));
  });
});
