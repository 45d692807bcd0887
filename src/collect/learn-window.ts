import { parseIp, parseMac } from '../../capture/addresses.js';
import type { Attribution } from '../../capture/attribution.js';
import type { WindowDocument } from '../../capture/window-document.js';

/** What a window teaches about addresses: its hypervisor's libvirt VMs (their MACs) and the ARP it saw. */
export function learnFromWindow(
  attribution: Attribution,
  doc: WindowDocument,
  cloudOfHost: (host: string) => string | undefined,
): void {
  for (const vm of doc.vms)
    attribution.learnVm({
      name: vm.name,
      host: doc.host,
      cloud: cloudOfHost(doc.host),
      nics: [{ mac: vm.mac }],
    });
  for (const [ip, mac] of doc.arp) {
    const words = parseIp(ip);
    const m = parseMac(mac);
    if (words?.version === 4 && m !== undefined) attribution.learnArp(words.words[0] as number, m);
  }
}
