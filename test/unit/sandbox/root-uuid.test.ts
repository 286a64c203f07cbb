// The sandbox's root filesystem carries the host's root UUID (so a GRUB config or initramfs regenerated in
// the sandbox names the host's root): the rule, and a real sandbox disk built from a map (mkfs + debugfs,
// no VM) read back with dumpe2fs.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootUuidOfFstab, rootUuidOfGrub } from '../../../main/adapters/sandbox/root-uuid.ts';
import { capture } from '../../../main/adapters/capture/capture.ts';
import { baseImageFor } from '../../../main/adapters/sandbox/disk-build.ts';

const UUID = '3f1b2c4d-5e6f-4a1b-9c2d-0e1f2a3b4c5d';
const GRUB = readFileSync(new URL('../core/fixtures/grub-debian12.cfg', import.meta.url), 'utf8');

describe('host root UUID', () => {
  it("from fstab's line for /, else GRUB's next entry", () => {
    assert.equal(rootUuidOfFstab(`# <fs> <mp>\nUUID=ABCD-1234 /boot/efi vfat umask=0077 0 1\nUUID=${UUID.toUpperCase()}  /  ext4 errors=remount-ro 0 1\n`), UUID);
    assert.equal(rootUuidOfFstab('/dev/vda / ext4 defaults 0 1\n'), undefined);
    assert.equal(rootUuidOfFstab('LABEL=root / ext4 defaults 0 1\n'), undefined);
    assert.equal(rootUuidOfFstab('# UUID=3f1b2c4d-5e6f-4a1b-9c2d-0e1f2a3b4c5d / ext4\n'), undefined);
    assert.equal(rootUuidOfGrub(GRUB), UUID);
  });

  const work = mkdtempSync(join(tmpdir(), 'understudy-root-uuid-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('the sandbox disk built from a map has the UUID its fstab names for /', async () => {
    const prev = process.env.UNDERSTUDY_IMAGES;
    process.env.UNDERSTUDY_IMAGES = join(work, 'images');
    try {
      const tree = join(work, 'tree');
      for (const d of ['etc', 'boot']) mkdirSync(join(tree, d), { recursive: true });
      writeFileSync(join(tree, 'etc/fstab'), `UUID=${UUID} / ext4 errors=remount-ro 0 1\n`);
      writeFileSync(join(tree, 'boot/vmlinuz-6.1.0-9-amd64'), 'kernel');
      writeFileSync(join(tree, 'boot/initrd.img-6.1.0-9-amd64'), 'initrd');
      const store = join(work, 'store');
      const { map } = await capture({ store, target: `dir:${tree}` });
      const base = await baseImageFor(store, map);
      const header = execFileSync('dumpe2fs', ['-h', base.rootImg], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
      assert.match(header, new RegExp(`Filesystem UUID:\\s+${UUID}`));
    } finally {
      if (prev === undefined) delete process.env.UNDERSTUDY_IMAGES; else process.env.UNDERSTUDY_IMAGES = prev;
    }
  });
});
