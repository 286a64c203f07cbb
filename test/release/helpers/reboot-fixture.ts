// What the release lane's reboot rehearsal tests share: the demo host's tree and mirror, a private store and
// TMPDIR, the CLI with both, and the check that nothing was left running.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoHostImage, mirrorImage } from '../../../main/adapters/qemu/image-cache.ts';
import { qemuProcessesMentioning } from '../../../main/adapters/sandbox/leak-check.ts';
import { cliJson, type CliRun } from '../../integration/helpers/cli-json.ts';

export const aptInstall = (what: string) =>
  `apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ${what}`;

export interface RebootFixture {
  tree: string;
  mirror: string;
  store: string;
  privateTmp: string;
  cli(args: string[]): Promise<CliRun & { wall: number }>;
  assertNoLeftovers(): void;
  dispose(): void;
}

export async function rebootFixture(): Promise<RebootFixture> {
  const tree = (await demoHostImage({ build: true })).tree;
  const mirror = (await mirrorImage({ build: true })).dir;
  const store = mkdtempSync(join(tmpdir(), 'understudy-reboot-test-'));
  const privateTmp = mkdtempSync(join(tmpdir(), 'understudy-reboot-tmp-'));
  return {
    tree, mirror, store, privateTmp,
    async cli(args) {
      const started = Date.now();
      const r = await cliJson([...args, '--store', store, '--mirror', mirror], { TMPDIR: privateTmp });
      const wall = (Date.now() - started) / 1000;
      const { consoleTail: _c, ...reboot } = r.result.reboot ?? {};
      console.log(`${args[0]} wall ${wall.toFixed(0)} s; stages ${JSON.stringify(r.result.timings)}; reboot ${JSON.stringify(reboot)}`);
      return { ...r, wall };
    },
    assertNoLeftovers() {
      assert.deepEqual(qemuProcessesMentioning(privateTmp), [], 'no sandbox QEMU process left');
      assert.deepEqual(readdirSync(privateTmp).filter((n) => n.startsWith('understudy-')), [], 'no sandbox temp dir left');
    },
    dispose() {
      rmSync(store, { recursive: true, force: true });
      rmSync(privateTmp, { recursive: true, force: true });
    },
  };
}
