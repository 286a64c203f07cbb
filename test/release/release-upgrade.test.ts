// The upgrade operators fear most, on a clone of the real host: Debian 12 -> 13 of the stock host
// (vm-images/stock-host) from its own real repositories. Not in CI (`npm run test:release`): under TCG it
// takes an hour or more.
//   1. upgrade ssh://: sources rewritten to trixie + apt-get full-upgrade, rehearsed in the sandbox with
//      checks (and the reboot rehearsal), swapped over SSH; the host reboots (--reboot auto) into trixie's
//      kernel, health passes, /etc/os-release says 13.
//   2. rollback --reboot auto: the Debian 12 host again (the map it restores is map1; it boots 6.1 again;
//      packages as before; a new capture differs from map1 only in runtime state), health passes.
// The host VM reboots like hardware: each boot loads what its own disk says (helpers/firmware-vm.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { stockHostImage, type StockHostImage } from '../../main/adapters/qemu/image-cache.ts';
import { waitForSsh } from '../../main/adapters/ssh/wait-for-ssh.ts';
import type { SshShell } from '../../main/adapters/ssh/ssh-shell.ts';
import { isRuntimeState } from '../../main/adapters/sandbox/sandbox-edits.ts';
import { cliJson } from '../integration/helpers/cli-json.ts';
import { FirmwareVm } from './helpers/firmware-vm.ts';

const RELEASE_UPGRADE = "sed -i 's/bookworm/trixie/g' /etc/apt/sources.list && apt-get update -q && "
  + 'DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confold full-upgrade';
const STATE = ". /etc/os-release; echo \"$VERSION_ID $(uname -r)\"; systemctl is-active cron";
const t0 = Date.now();
const lap = (what: string) => console.log(`# ${what}: ${((Date.now() - t0) / 60_000).toFixed(1)} min since start`);

describe('release upgrade Debian 12 -> 13 of a stock host, and back', { timeout: 4 * 60 * 60_000 }, () => {
  let work = '', store = '';
  let image: StockHostImage;
  let vm: FirmwareVm;
  let map1 = '', packagesBefore = '';
  const sh = async (): Promise<SshShell> => waitForSsh(vm.sshPort, readFileSync(image.privateKeyPath), 10 * 60_000);
  const onHost = async (cmd: string) => { const s = await sh(); try { return (await s.run(cmd, { timeoutMs: 300_000 })).stdout.trim(); } finally { await s.close(); } };
  const cli = (args: string[]) => cliJson([...args, '--store', store, '--identity', image.privateKeyPath, '--accept-new-host-key'], { TMPDIR: join(work, 'tmp') });

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'understudy-release-'));
    mkdirSync(join(work, 'tmp'));
    store = join(work, 'store');
    image = await stockHostImage({ build: true });
    vm = await FirmwareVm.start(image, join(work, 'vm'));
    assert.match(await onHost(STATE), /^12 6\.1\.\S+\nactive$/);
    packagesBefore = await onHost("dpkg-query -W -f='${Package} ${Version}\\n' | sort");
    lap('host up');
  });
  after(async () => {
    await vm?.stop();
    if (work && !process.env.UNDERSTUDY_KEEP) rmSync(work, { recursive: true, force: true });
  });

  it('upgrade: rehearsed with checks, swapped, rebooted into trixie\'s kernel, healthy', async () => {
    const r = await cli(['upgrade', vm.target, '--run', RELEASE_UPGRADE,
      '--check', 'grep -qx VERSION_ID=\\"13\\" /etc/os-release', '--check', 'systemctl is-active cron',
      '--health', 'grep -qx VERSION_ID=\\"13\\" /etc/os-release', '--health', 'systemctl is-active cron',
      '--reboot', 'auto', '--upgrade-timeout', '180', '--yes']);
    lap('upgrade done');
    console.log(`# upgrade timings ${JSON.stringify(r.result.timings)}; delta ${r.result.delta?.added?.length}+${r.result.delta?.changed?.length}-${r.result.delta?.removed?.length}`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.result.outcome, 'upgraded');
    assert.equal(r.result.swap.rebooted, true);
    map1 = r.result.map1;
    assert.ok(vm.boots.length >= 2, 'the host rebooted');
    assert.match(await onHost(STATE), /^13 6\.12\.\S+\nactive$/);
  });

  it('rollback --reboot auto: the Debian 12 host again, exactly', async () => {
    const boots = vm.boots.length;
    const r = await cli(['rollback', vm.target, '--yes', '--reboot', 'auto',
      '--health', 'grep -qx VERSION_ID=\\"12\\" /etc/os-release', '--health', 'systemctl is-active cron']);
    lap('rollback done');
    console.log(`# rollback: ${r.result.files} paths put back; left as the host changed them: ${r.result.kept?.length} `
      + `(${(r.result.kept ?? []).slice(0, 8).join(', ')}); taken out of directories the upgrade made: ${r.result.takenOutCount} `
      + `(${(r.result.takenOut ?? []).slice(0, 8).join(', ')})`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.result.restoredMap, map1);
    assert.equal(r.result.rebooted, true);
    assert.ok(vm.boots.length > boots, 'the host rebooted');
    assert.match(await onHost(STATE), /^12 6\.1\.\S+\nactive$/);
    assert.equal(await onHost("dpkg-query -W -f='${Package} ${Version}\\n' | sort"), packagesBefore);
    const c = await cli(['capture', vm.target]);
    assert.equal(c.code, 0, c.stderr);
    const d = await cliJson(['diff', map1, c.result.map, '--store', store]);
    const runtime = (p: string) => isRuntimeState(p); // logs, random seed, timer stamps ... of the host's own running
    const kinds = { added: d.result.added as string[], changed: d.result.changed as string[], removed: d.result.removed as string[] };
    const notRuntime = Object.values(kinds).flat().filter((p) => !runtime(p));
    if (notRuntime.length) console.log(`# not runtime state after the rollback: ${summarize(kinds, runtime)}`);
    assert.deepEqual(notRuntime, [], 'after the rollback the host differs from map1 only in runtime state');
  });
});

/** Counts per kind and per directory three levels down: a failure says where thousands of paths are. */
function summarize(kinds: Record<string, string[]>, runtime: (p: string) => boolean): string {
  return Object.entries(kinds).map(([kind, paths]) => {
    const per = new Map<string, number>();
    for (const p of paths.filter((x) => !runtime(x))) { const d = p.split('/').slice(0, 3).join('/'); per.set(d, (per.get(d) ?? 0) + 1); }
    const top = [...per].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([d, n]) => `${d} ${n}`).join(', ');
    return `${kind} ${[...per.values()].reduce((a, b) => a + b, 0)} (${top})`;
  }).join('; ');
}
