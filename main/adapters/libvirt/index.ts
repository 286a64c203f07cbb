// libvirt adapter: Hypervisor port on @unraid/libvirt. See libvirt-hypervisor.ts and domain-xml.ts.
export { LibvirtHypervisor, LibvirtVm, listDomains, DEFAULT_LIBVIRT_URI, DOMAIN_PREFIX } from './libvirt-hypervisor.ts';
export { buildDomainXml } from './domain-xml.ts';
