// How the sandbox reaches understudy's repository proxy, seen from inside the guest:
//   http://10.0.2.100:3128/ — QEMU's guestfwd runs a program per guest connection (the relay to the
//   proxy's loopback port, or whatever carries it elsewhere, e.g. an SSH forward to a remote hypervisor).
// The guest finds it through a sandbox-only apt configuration (sandbox-edits.ts writes APT_PROXY_CONF)
// and through http_proxy/https_proxy in the environment of --run and --check commands (withProxyEnv).
// The guest needs no DNS: it sends host names to the proxy, which resolves them.
export const PROXY_GUEST_ADDR = '10.0.2.100';
export const PROXY_GUEST_PORT = 3128;
export const PROXY_GUEST_URL = `http://${PROXY_GUEST_ADDR}:${PROXY_GUEST_PORT}/`;

/** The guestfwd entry that carries the guest's proxy connections to `command` (run per connection). */
export function proxyGuestForward(command: string): { guestAddr: string; guestPort: number; command: string } {
  return { guestAddr: PROXY_GUEST_ADDR, guestPort: PROXY_GUEST_PORT, command };
}

/** Path key of the sandbox-only apt configuration (read last of apt.conf.d, so it decides). */
export const APT_PROXY_CONF_KEY = 'etc/apt/apt.conf.d/99zz-understudy-sandbox-proxy';

// #clear drops whatever the host configured for these (per-host proxies, DIRECT, auto-detect scripts):
// in the sandbox there is no other way out.
export const APT_PROXY_CONF = `// understudy sandbox only: every repository through understudy's proxy. Never part of the host.
#clear Acquire::http::Proxy;
#clear Acquire::https::Proxy;
#clear Acquire::http::Proxy-Auto-Detect;
#clear Acquire::https::Proxy-Auto-Detect;
#clear Acquire::http::ProxyAutoDetect;
Acquire::http::Proxy "${PROXY_GUEST_URL}";
Acquire::https::Proxy "${PROXY_GUEST_URL}";
`;

/** `cmd` with the proxy in its environment (curl, wget, pip ... in --run and --check); loopback stays direct. */
export function withProxyEnv(cmd: string): string {
  const url = PROXY_GUEST_URL, local = 'localhost,127.0.0.1,::1';
  return `export http_proxy=${url} https_proxy=${url} HTTPS_PROXY=${url} no_proxy=${local} NO_PROXY=${local}\n${cmd}`;
}
