import { LINKTYPE } from '../link-types.js';

/**
 * On one hypervisor a frame between two local VMs crosses both their taps (and the bridge): counted on
 * each, it would count two or three times. When the VMs' taps are known, a frame counts on one interface
 * only, its sender's: on a VM's tap, the frames that VM sent; elsewhere, frames no captured tap sent.
 */
export class SenderFilter {
  /** `tapMacs`: interface name → MAC of the VM behind it, for every captured tap. */
  constructor(private readonly tapMacs: ReadonlyMap<string, number>) {}

  get active(): boolean {
    return this.tapMacs.size > 0;
  }

  /** A predicate for frames of one interface; it reads the source MAC of Ethernet frames only. */
  forInterface(name: string, linkType: number): (frame: Buffer, caplen: number) => boolean {
    if (!this.active || linkType !== LINKTYPE.ETHERNET) return () => true;
    const own = this.tapMacs.get(name);
    if (own !== undefined) return (f, caplen) => caplen >= 12 && f.readUIntBE(6, 6) === own;
    const taps = new Set(this.tapMacs.values());
    return (f, caplen) => caplen < 12 || !taps.has(f.readUIntBE(6, 6));
  }
}
