// The libvirt adapter aimed at a remote pool member: the spec's paths are the member's (its work
// directory), checked over the member's SSH session; the guest's SSH is forwarded on the member's loopback
// (a port picked there; a taken one makes libvirt fail and the adapter retry with another); QEMU runs as
// the member's SSH user, who owns the files; the serial console is read there.
// KVM: as on this machine, 'auto' is proven by booting the sandbox's own kernel under KVM until its
// no-root-fs panic, here as a short-lived libvirt domain on the member; once per member and session.
import { randomBytes, randomInt } from 'node:crypto';
import { DomainState, Hypervisor as LibvirtConnection } from '@unraid/libvirt';
import { UnderstudyError } from '../../core/domain/errors.ts';
import type { Accel } from '../../core/ports/hypervisor.port.ts';
import { LibvirtHypervisor, DOMAIN_PREFIX, markLive, type LibvirtPlacement } from '../libvirt/libvirt-hypervisor.ts';
import { buildDomainXml } from '../libvirt/domain-xml.ts';
import { currentOwner, ownerMetadataXml } from '../libvirt/domain-owner.ts';
import { shellQuote as q } from '../capture/remote-listing.ts';
import type { MemberSession } from './member-session.ts';

const PROBE_MS = 10_000;
const accelOf = new WeakMap<MemberSession, Promise<Accel>>();

export function memberPlacement(s: MemberSession): LibvirtPlacement {
  return {
    async checkFiles(paths) {
      if (!paths.length) return;
      const out = await s.sh(paths.map((p) => `test -r ${q(p)} || echo ${q(p)}`).join('; ') + '; true');
      const missing = out.split('\n').filter(Boolean);
      if (missing.length) throw new UnderstudyError('hypervisor', `not readable on pool member ${s.spec.name}: ${missing.join(', ')}`);
    },
    accel: (requested, kernel) => {
      const forced = process.env.UNDERSTUDY_ACCEL;
      if (requested !== 'auto') return Promise.resolve(requested);
      if (s.spec.accel !== 'auto') return Promise.resolve(s.spec.accel);
      if (forced === 'kvm' || forced === 'tcg') return Promise.resolve(forced);
      let p = accelOf.get(s);
      if (!p) { p = cachedProbe(s, kernel); accelOf.set(s, p); }
      return p;
    },
    async prepareSerial(path) { await s.sh(`mkdir -p "$(dirname ${q(path)})"`); },
    // the member's loopback is its own: any port of the unprivileged range will do, libvirt says if it is taken
    sshPort: async () => randomInt(20_000, 61_000),
    async serialTail(path, lines) {
      return s.sh(`tail -n ${Math.max(1, Math.floor(lines))} ${q(path)} 2>/dev/null; true`).catch(() => '');
    },
    uid: s.info.uid,
    gid: s.info.gid,
    serialByQemu: true,
  };
}

export function memberHypervisor(s: MemberSession): LibvirtHypervisor {
  return new LibvirtHypervisor({ uri: s.spec.uri, placement: memberPlacement(s) });
}

/** The probe's answer holds until the member reboots: kept in its work directory with its boot id. */
async function cachedProbe(s: MemberSession, kernel: string): Promise<Accel> {
  const file = `${s.info.workDir}/accel-probe`;
  const saved = (await s.sh(`cat ${q(file)} 2>/dev/null; true`).catch(() => '')).trim().split(' ');
  if (saved[0] === s.info.bootId && (saved[1] === 'kvm' || saved[1] === 'tcg')) return saved[1];
  const accel = await probeKvm(s, kernel);
  await s.sh(`echo ${q(`${s.info.bootId} ${accel}`)} >${q(file)}`).catch(() => undefined);
  return accel;
}

/** Boots `kernel` (a path on the member) under KVM there until it panics without a root fs. */
async function probeKvm(s: MemberSession, kernel: string): Promise<Accel> {
  const name = `${DOMAIN_PREFIX}kvm-probe-${randomBytes(4).toString('hex')}`;
  const serial = `${s.info.workDir}/runs/${name}.console`;
  const xml = buildDomainXml({
    name, disks: [], kernel, cmdline: 'console=ttyS0 panic=-1 root=/dev/null', memoryMiB: 256, cpus: 1, forwardSsh: false, serialLog: serial,
  }, { name, accel: 'kvm', sshPort: 0, uid: s.info.uid, gid: s.info.gid, ownerMetadata: ownerMetadataXml(currentOwner()), serialByQemu: true });
  const conn = new LibvirtConnection({ uri: s.spec.uri });
  const unmark = markLive(name, s.spec.uri);
  try {
    await conn.connectOpen();
    let domain;
    try { domain = await conn.domainCreateXML(xml); } catch { return 'tcg'; } // no KVM domain type there
    const deadline = Date.now() + PROBE_MS;
    let gone = false;
    while (!gone && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 300));
      gone = await conn.domainLookupByName(name).then(async (d) => (await d.getInfo()).state === DomainState.SHUTOFF, () => true);
    }
    if (!gone) await domain.destroy().catch(() => undefined);
    const console = await s.sh(`head -c 4000 ${q(serial)} 2>/dev/null; rm -f ${q(serial)}`).catch(() => '');
    return gone && console.includes('Linux version') ? 'kvm' : 'tcg';
  } catch {
    return 'tcg';
  } finally {
    unmark();
    await conn.connectClose().catch(() => undefined);
  }
}
