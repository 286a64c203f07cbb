// Parsing a host's apt sources as apt does: which files, which entries, which URIs the sandbox may reach.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  accessOf, parseHostPort, parseMirrorList, parseSourcesFile, sourcesFileKind, underUri,
} from '../../../main/core/domain/apt-sources.ts';

describe('apt sources', () => {
  it('reads the files apt reads, by name', () => {
    assert.equal(sourcesFileKind('etc/apt/sources.list'), 'list');
    assert.equal(sourcesFileKind('etc/apt/sources.list.d/debian.sources'), 'sources');
    assert.equal(sourcesFileKind('etc/apt/sources.list.d/vendor.list'), 'list');
    assert.equal(sourcesFileKind('etc/apt/sources.list.d/vendor.list.disabled'), undefined);
    assert.equal(sourcesFileKind('etc/apt/sources.list.d/a b.list'), undefined);
    assert.equal(sourcesFileKind('etc/apt/sources.list.d/sub/x.list'), undefined);
    assert.equal(sourcesFileKind('etc/apt/sources.list.save'), undefined);
  });

  it('one-line: options, comments, deb-src, several components', () => {
    const s = parseSourcesFile('etc/apt/sources.list', [
      '# comment', '', 'deb http://a.example/debian/ bookworm main contrib # trailing',
      'deb-src http://a.example/debian bookworm main',
      'deb [arch=amd64 signed-by=/usr/share/keyrings/v.gpg] https://v.example:8443/repo stable main',
      'deb [trusted=yes] http://demo.invalid/ ./', '#deb http://off.example/ x main', 'garbage line',
    ].join('\n'));
    assert.deepEqual(s.map((x) => [x.types[0], x.uri, x.suites[0], x.components.join(',')]), [
      ['deb', 'http://a.example/debian/', 'bookworm', 'main,contrib'],
      ['deb-src', 'http://a.example/debian', 'bookworm', 'main'],
      ['deb', 'https://v.example:8443/repo', 'stable', 'main'],
      ['deb', 'http://demo.invalid/', './', ''],
    ]);
    assert.deepEqual(s[2]!.options, { arch: 'amd64', 'signed-by': '/usr/share/keyrings/v.gpg' });
    assert.equal(s[3]!.line, 6);
  });

  it('deb822: every URI, Enabled: no skipped, continuation lines, comments', () => {
    const s = parseSourcesFile('etc/apt/sources.list.d/x.sources', [
      '# header', 'Types: deb deb-src', 'URIs: http://a.example/debian https://b.example/debian',
      'Suites: bookworm bookworm-updates', 'Components: main', 'Signed-By:', ' -----BEGIN PGP PUBLIC KEY BLOCK-----',
      ' .', ' -----END PGP PUBLIC KEY BLOCK-----', '',
      'Types: deb', 'URIs: http://off.example/', 'Suites: x', 'Enabled: no', '', '',
      'Types: deb', '# a comment inside', 'URIs: mirror+file:/etc/apt/mirrors.txt', 'Suites: bookworm', 'Components: main',
    ].join('\n'));
    assert.deepEqual(s.map((x) => x.uri), ['http://a.example/debian', 'https://b.example/debian', 'mirror+file:/etc/apt/mirrors.txt']);
    assert.deepEqual(s[0]!.suites, ['bookworm', 'bookworm-updates']);
    assert.deepEqual(s[0]!.types, ['deb', 'deb-src']);
    assert.match(s[0]!.options['signed-by']!, /BEGIN PGP[\s\S]*END PGP/);
    assert.equal(s[2]!.line, 17);
  });

  it('classifies URIs by how the sandbox reaches them', () => {
    assert.deepEqual(accessOf('http://Deb.Example./debian'), { kind: 'network', uri: 'http://Deb.Example./debian', scheme: 'http', host: 'deb.example', port: 80 });
    assert.deepEqual(accessOf('https://[2001:db8::1]:8443/r'), { kind: 'network', uri: 'https://[2001:db8::1]:8443/r', scheme: 'https', host: '2001:db8::1', port: 8443 });
    assert.deepEqual(accessOf('mirror://m.example/list.txt'), { kind: 'mirror-list', uri: 'mirror://m.example/list.txt', list: 'http://m.example/list.txt' });
    assert.deepEqual(accessOf('mirror+https://m.example/l'), { kind: 'mirror-list', uri: 'mirror+https://m.example/l', list: 'https://m.example/l' });
    assert.deepEqual(accessOf('mirror+file:/etc/apt/m.txt'), { kind: 'mirror-list', uri: 'mirror+file:/etc/apt/m.txt', list: 'file:/etc/apt/m.txt' });
    assert.deepEqual(accessOf('file:///srv/my%20repo'), { kind: 'local', uri: 'file:///srv/my%20repo', path: '/srv/my repo' });
    assert.deepEqual(accessOf('copy:/srv/r'), { kind: 'local', uri: 'copy:/srv/r', path: '/srv/r' });
    assert.equal(accessOf('cdrom:[Debian 12]/').kind, 'unavailable');
    assert.match((accessOf('tor+http://x.onion/') as { reason: string }).reason, /Tor/);
    assert.match((accessOf('s3://bucket/x') as { reason: string }).reason, /'s3' method/);
    assert.equal(accessOf('nonsense').kind, 'unavailable');
  });

  it('reads mirror lists', () => {
    assert.deepEqual(parseMirrorList('# top\nhttp://a.example/debian\tpriority:1\n\nhttps://b.example/debian # x\nnot a uri\n'),
      ['http://a.example/debian', 'https://b.example/debian']);
  });

  it('parses --allow-host values', () => {
    assert.deepEqual(parseHostPort('Example.org'), { host: 'example.org' });
    assert.deepEqual(parseHostPort('example.org:8080'), { host: 'example.org', port: 8080 });
    assert.deepEqual(parseHostPort('127.0.0.1:3128'), { host: '127.0.0.1', port: 3128 });
    assert.deepEqual(parseHostPort('[::1]:80'), { host: '::1', port: 80 });
    assert.deepEqual(parseHostPort('::1'), { host: '::1' });
    for (const bad of ['', 'http://x/', 'x:0', 'x:70000', 'a b', 'x:y']) assert.throws(() => parseHostPort(bad), /HOST|range/, bad);
  });

  it('tells whether a URL is under a repository root', () => {
    assert.equal(underUri('http://a.example/debian', 'http://a.example/debian/dists/x/InRelease'), 'dists/x/InRelease');
    assert.equal(underUri('http://a.example/debian/', 'http://a.example:80/debian/pool/a.deb'), 'pool/a.deb');
    assert.equal(underUri('http://a.example/debian', 'http://a.example/debian-security/x'), undefined);
    assert.equal(underUri('http://a.example/', 'http://a.example/Packages'), 'Packages');
    assert.equal(underUri('http://a.example/', 'https://a.example/Packages'), undefined);
  });
});
