// SSH adapter: RemoteShell over ssh2. See ssh-shell.ts (connect, exec, execStream), known-hosts.ts, wait-for-ssh.ts.
export { connectSsh, SshShell, type HostKeyPolicy, type SshConnectOptions, type ExecStream } from './ssh-shell.ts';
export { waitForSsh, type WaitForSshOptions } from './wait-for-ssh.ts';
export { checkHostKey, sha256Fingerprint } from './known-hosts.ts';
export { generateSshKeyPair, isUsableKeyPair, type SshKeyPair } from './ssh-keypair.ts';
