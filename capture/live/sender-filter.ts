import { LINKTYPE } from '../link-types.js';

/**
 * On one hypervisor a frame between two local VMs crosses both their taps (and the bridge): counted on
 * each, it would count two or three times. When the VMs' taps are known, a frame counts on one interface
 * only, its sender's: on a VM's tap, the frames that VM sent; elsewhere, frames no captured tap sent.
 * The taps may change while capturing (VMs start, stop, migrate): predicates read the current set.
 */
export class SenderFilter {
  private tapMacs = new Map<string, number>();
  private macs = new Set<number>();

  /** `tapMacs`: interface name → MAC of the VM behind it, for every captured tap. */
  constructor(tapMacs: ReadonlyMap<string, number> = new Map()) {
    this.setTaps(tapMacs);
  }

  setTaps(tapMacs: ReadonlyMap<string, number>): void {
    this.tapMacs = new Map(tapMacs);
    this.macs = new Set(tapMacs.values());
  }

  get active(): boolean {
    return this.tapMacs.size > 0;
  }

  /** A predicate for frames of one interface; it reads the source MAC of Ethernet frames only. */
  forInterface(name: string, linkType: number): (frame: Buffer, caplen: number) => boolean {
    if (linkType !== LINKTYPE.ETHERNET) return () => true;
    return (f, caplen) => {
      if (this.macs.size === 0 || caplen < 12) return true;
      const src = f.readUIntBE(6, 6);
      const own = this.tapMacs.get(name);
      return own === undefined ? !this.macs.has(src) : src === own;
    };
  }
}
