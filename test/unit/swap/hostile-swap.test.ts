// Adversarial round trips on dir: hosts: hostile names, type changes, special modes, drift. Each case
// builds map1's tree, the upgraded tree (map2), swaps a copy of map1's tree, checks it equals map2 in every
// entry, rolls back, checks map1, and rolls back the rollback (map2 again).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDirHost } from '../../../main/adapters/swap/dir-host.ts';
import { swap } from '../../../main/adapters/swap/swap.ts';
import { rollbackLatest } from '../../../main/adapters/swap/rollback.ts';
import { snapshot } from './helpers/tree.ts';
import { treePair } from './helpers/tree-pair.ts';

let base: string;
before(() => { base = mkdtempSync(join(tmpdir(), 'understudy-hostile-')); });
after(() => rmSync(base, { recursive: true, force: true }));

async function roundTrip(name: string, tree1: string, upgrade: string): Promise<void> {
  const { store, t1, t2, h, map1, map2 } = treePair(base, name, tree1, upgrade);
  assert.deepEqual(snapshot(h), snapshot(t1));
  const host = await openDirHost(`dir:${h}`);
  const r = await swap({ host, store, map1, map2 });
  assert.equal(r.outcome, 'committed');
  assert.deepEqual(snapshot(h), snapshot(t2), 'after swap: map2');
  await rollbackLatest({ host, store });
  assert.deepEqual(snapshot(h), snapshot(t1), 'after rollback: map1');
  await rollbackLatest({ host, store });
  assert.deepEqual(snapshot(h), snapshot(t2), 'after rolling back the rollback: map2');
}

const T = 'find . -exec touch -h -d @1600000000.123456789 {} +';

test('hostile names', () => roundTrip('names', `
  mkdir d
  printf 1 > "d/$(printf 'nl\\nx')"; printf 1 > "d/$(printf 'tab\\tx')"; printf 1 > 'd/back\\slash'
  printf 1 > "d/q'uo\\"te"; printf 1 > 'd/$(id)'; printf 1 > 'd/\`date\`'; printf 1 > 'd/*'; printf 1 > 'd/-n'
  printf 1 > "d/$(printf 'inv\\377')"; printf 1 > 'd/trail  '; printf 1 > 'd/%s%b\\0101'
  ${T}`, `
  for f in d/*; do printf 2 > "$f"; done
  printf 3 > "d/$(printf 'new\\nline\\n')"; printf 3 > 'd/-e'; printf 3 > "d/$(printf '\\001\\002')"
  printf 3 > 'd/\\0101'
  rm 'd/*'`));

test('a path over 3000 bytes, 150 directories deep', () => roundTrip('long', `
  p=.; i=0; while [ $i -lt 150 ]; do p=$p/d$(printf %017d $i); i=$((i+1)); done
  mkdir -p "$p"; printf old > "$p/leaf"; printf keep > "$p/keep"; echo "$p" > ../deep
  ${T}`, `
  p=$(cat ../deep); printf new > "$p/leaf"; mkdir "$p/more"; printf x > "$p/more/x"; rm "$p/keep"`));

test('type changes: file->symlink, symlink->dir, dir->file, dir->symlink, file->fifo, fifo->file', () => roundTrip('types', `
  printf f > f2s; ln -s target s2d; mkdir -p d2f/a/b; printf x > d2f/a/b/c; printf y > d2f/top
  mkdir d2s; printf z > d2s/in; printf q > f2fifo; mkfifo fifo2f; ln -s d2f lnk-to-dir
  ${T}`, `
  rm f2s; ln -s elsewhere f2s; rm s2d; mkdir s2d; printf c > s2d/child
  rm -r d2f; printf nowfile > d2f; rm -r d2s; ln -s d2f d2s
  rm f2fifo; mkfifo f2fifo; rm fifo2f; printf f > fifo2f; rm lnk-to-dir; mkdir lnk-to-dir`));

test('hardlinks: file becomes a link into another file; a group splits; loses a member; gains one (link counts exact)', () => roundTrip('links', `
  printf a > a; printf b > b; printf g > g1; ln g1 g2; ln g1 g3; printf h > h1; ln h1 h2
  printf k > k1; ln k1 k2; ln k1 k3; printf m > m1; ln m1 m2; printf r > r1; ln r1 r2; ln r1 r3
  ${T}`, `
  rm r2
  cp k3 k3.tmp; rm k3; mv k3.tmp k3; chmod 600 k3; touch -d @1600000000.123456789 k3
  chmod 640 m1
  rm b; ln a b
  cp g2 g2.tmp; rm g2; mv g2.tmp g2; touch -d @1600000000.123456789 g2
  mkdir -p new/dir; ln h1 new/dir/h3; ln h1 h4`));

test('directory modes: setgid/sticky, owner; a 0555 directory gains a file, another loses one', () => roundTrip('dirmodes', `
  mkdir m1 m2 ro ro2 own; printf x > ro2/goes; chmod 0555 ro ro2; printf o > own/f
  ${T}`, `
  chmod 2775 m1; chmod 1777 m2
  chmod 755 ro; printf new > ro/added; chmod 0555 ro
  chmod 755 ro2; rm ro2/goes; chmod 0555 ro2
  chown 1234:5678 own; chmod 0700 own
  touch -d @1600000000.123456789 ro ro2`));

test('setuid binary replaced; owner change keeps setuid; caps, xattr-only, ACL-only, mtime-only, empty, sparse', () => roundTrip('attrs', `
  printf v1 > suid; chmod 4755 suid; printf v1 > sgid; chmod 2755 sgid
  printf x > xonly; printf x > aclonly; printf x > mtonly; printf x > toempty; : > fromempty
  printf x > ownsuid; chmod 4711 ownsuid; setfattr -n user.a -v 1 xonly
  mkdir acldir
  ${T}`, `
  printf 'v2 longer' > suid.n; chmod 4755 suid.n; mv suid.n suid; chmod 2711 sgid
  setfattr -n user.a -v 2 xonly; setfattr -n user.b -v 3 xonly; setfacl -m u:1000:rw aclonly
  setfacl -d -m u:1000:rx acldir
  touch -d @1700000000.000000001 mtonly; : > toempty; printf now > fromempty
  chown 1000:1000 ownsuid; chmod 4711 ownsuid
  truncate -s 64M sparse; printf data | dd of=sparse bs=1 seek=1048576 conv=notrunc 2>/dev/null
  setfattr -n security.capability -v 0sAQAAAgAgAAAAAAAAAAAAAAAAAAA= suid 2>/dev/null || true`));

test('a directory tree holding files goes away; a new directory chain with files arrives', () => roundTrip('trees', `
  mkdir -p gone/a/b/c keep; printf 1 > gone/a/b/c/f; printf 2 > gone/a/f; ln -s ../x gone/a/l; mkfifo gone/p
  ${T}`, `
  rm -r gone; mkdir -p keep/n1/n2/n3/n4; printf deep > keep/n1/n2/n3/n4/f; printf mid > keep/n1/f
  chmod 700 keep/n1/n2; ln -s n2 keep/n1/ln`));

test('symlink to a directory becomes a real directory holding the same names (merged-/usr style), and back', () => roundTrip('unmerge', `
  mkdir -p usr/lib; printf x > usr/lib/x; printf y > usr/lib/y; ln -s usr/lib lib
  ${T}`, `
  rm lib; mkdir lib; printf X > lib/x; printf y > lib/y; ln -s ../usr/lib/x lib/z`));

test('a real directory becomes a symlink to another directory holding the same names', () => roundTrip('merge', `
  mkdir -p usr/lib lib; printf x > usr/lib/x; printf old > lib/x; printf y > lib/y
  ${T}`, `
  rm -r lib; ln -s usr/lib lib`));
