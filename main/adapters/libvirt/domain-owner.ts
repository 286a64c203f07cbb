// Who started a libvirt domain, so a domain whose understudy process died (kill -9, OOM killer, power
// loss of the client) is not left running forever: libvirtd, not we, is QEMU's parent, so no
// parent-death signal reaches it. Each domain's XML carries its owner (host name, boot id, pid and the
// pid's start time); before starting a domain, the adapter destroys understudy's domains on this
// libvirt whose owner is a process of THIS machine that no longer runs. Domains of other machines
// (a shared remote libvirt) and of live processes are never touched.
import { xmlEscape } from './domain-xml.ts';
import { currentOwner, startTicks, type ProcessOwner } from '../local/process-owner.ts';

export type DomainOwner = ProcessOwner;
export { currentOwner };

export const OWNER_NS = 'urn:understudy:domain-owner';

/** The inverse of xmlEscape, for the five entities it (and libvirt) writes. */
const unescapeXml = (s: string) =>
  s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');

/** The <metadata> element for a domain's XML. */
export function ownerMetadataXml(o: DomainOwner): string {
  return `<metadata><owner xmlns="${OWNER_NS}" host="${xmlEscape(o.host)}" boot-id="${xmlEscape(o.bootId)}" pid="${o.pid}" start-ticks="${xmlEscape(o.startTicks)}"/></metadata>`;
}

/** The owner recorded in a domain's XML (as libvirt returns it, possibly with its own prefix), if any. */
export function ownerFromXml(xml: string): DomainOwner | undefined {
  const el = new RegExp(`<(?:\\w+:)?owner\\b[^>]*xmlns(?::\\w+)?="${OWNER_NS.replace(/[.:-]/g, '\\$&')}"[^>]*/?>`).exec(xml)?.[0];
  if (!el) return undefined;
  const get = (name: string) => { const m = new RegExp(`\\s${name}="([^"]*)"`).exec(el); return m ? unescapeXml(m[1]!) : undefined; };
  const host = get('host'), boot = get('boot-id'), pid = Number(get('pid')), ticks = get('start-ticks');
  if (host === undefined || boot === undefined || !Number.isInteger(pid) || pid <= 0 || ticks === undefined) return undefined;
  return { host, bootId: boot, pid, startTicks: ticks };
}

/** True only when the owner is a process of this machine (same host, same boot) that is gone. */
export function ownerIsGone(o: DomainOwner, here: DomainOwner = currentOwner()): boolean {
  if (o.host !== here.host) return false;
  // another boot id: this machine rebooted, or another machine has the same name; not ours to judge
  if (o.bootId !== here.bootId || o.bootId === '') return false;
  const ticks = startTicks(o.pid);
  return ticks === undefined || ticks !== o.startTicks; // no such pid, or the pid now belongs to another process
}

/** The owner is this very process (same host, boot, pid and start time). */
export function ownerIsThisProcess(o: DomainOwner, here: DomainOwner = currentOwner()): boolean {
  return o.host === here.host && o.bootId === here.bootId && o.pid === here.pid && o.startTicks === here.startTicks;
}
