// Fresh ed25519 key pairs in OpenSSH format (a sandbox's per-run key; test servers' keys).
// ssh2 1.17's generateKeyPairSync('ed25519') drops a leading zero byte of the public key about once
// in 200 keys (measured: 14 of 3,000), writing a 31-byte key that nothing can parse back: such a pair
// is thrown away here, so a rehearsal never fails on its own random key.
import { randomBytes } from 'node:crypto';
import ssh2 from 'ssh2';

export interface SshKeyPair { private: string; public: string }

const ED25519_BLOB_BYTES = 4 + 'ssh-ed25519'.length + 4 + 32;

/** The pair parses back, the public key is whole, and a signature made with it verifies. */
export function isUsableKeyPair(pair: SshKeyPair): boolean {
  const priv = ssh2.utils.parseKey(pair.private);
  const pub = ssh2.utils.parseKey(pair.public);
  if (priv instanceof Error || pub instanceof Error || Array.isArray(priv) || Array.isArray(pub)) return false;
  const blob = pub.getPublicSSH();
  if (blob.length !== ED25519_BLOB_BYTES || !blob.equals(priv.getPublicSSH())) return false;
  const data = randomBytes(32);
  const signature = priv.sign(data);
  return !(signature instanceof Error) && pub.verify(data, signature) === true;
}

export function generateSshKeyPair(): SshKeyPair {
  for (let attempt = 0; attempt < 20; attempt++) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519');
    if (isUsableKeyPair(pair)) return { private: pair.private, public: pair.public };
  }
  throw new Error('could not generate a usable ed25519 key pair in 20 attempts');
}
