// Does the rehearsal carry something of the representative's own into the files a follower would take?
// Per-path verification (follower-delta.ts) proves that every path the upgrade changes started out the
// same on both hosts, but an upgrade can also *read* a file that differs and write what it read into a
// file it creates or changes: a postinst that puts the host name into a new config, a plan that copies
// an identity file. Taken by the follower, such a file would carry the representative's name or identity
// onto it. So: the text lines the representative has and the follower has not, in the host-specific
// files under etc/ (host name, hosts, mailname, identities, local config), are looked for in every file
// the follower would take from the rehearsal; a file where the rehearsal *introduced* one of them (absent
// from the representative's own version before) is a conflict, and the follower rehearses on its own.
// Package payloads (usr/ but usr/local, bin, sbin, lib*) come from the archive, not from the host, and
// are not searched. Lines that are common words (no digit or punctuation, under 8 characters) are not
// looked for, so "debian" in an index does not count; a short plain host name is then not caught.
import { isUnder } from './swap-delta.ts';

/** Host-specific files larger than this are not read for lines (logs, databases). */
export const TAINT_SOURCE_MAX = 64 << 10;
/** Files the follower takes that are larger than this are not searched. */
export const TAINT_TARGET_MAX = 16 << 20;

/** Where host data can come from: configuration under etc/. */
export function isTaintSource(path: string): boolean {
  return isUnder(path, 'etc');
}

const PAYLOAD = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'usr'];

/** Where a rehearsal can write host data: anything but the package payload directories (usr/local is the host's). */
export function isTaintTarget(path: string): boolean {
  if (isUnder(path, 'usr/local')) return true;
  return !PAYLOAD.some((d) => isUnder(path, d));
}

const distinctive = (line: string) => line.length >= 3 && line.length <= 512 && (line.length >= 8 || /[0-9._-]/.test(line));

/** The representative's own lines (absent from the follower's version of the same file), and a host name's first label. */
export function ownLines(rep: string, follower: string | undefined): string[] {
  const theirs = new Set((follower ?? '').split('\n').map((l) => l.trim()));
  const out = new Set<string>();
  for (const raw of rep.split('\n')) {
    const line = raw.trim();
    if (theirs.has(line) || !distinctive(line)) continue;
    out.add(line);
    // web1.example.com: generated files often use the short name
    const label = /^([A-Za-z0-9-]+)\.[A-Za-z0-9.-]+$/.exec(line)?.[1];
    if (label && distinctive(label) && !theirs.has(label)) out.add(label);
  }
  return [...out];
}
