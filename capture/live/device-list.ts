import { nativeModule } from './native-module.js';

/** An interface libpcap can capture on. */
export interface CaptureDevice {
  name: string;
  description?: string;
  addresses: string[];
}

interface CapModule {
  Cap: {
    deviceList(): { name: string; description?: string; addresses: { addr: string; netmask?: string }[] }[];
  };
}

/**
 * The interfaces libpcap sees (pcap_findalldevs), with their addresses: what `capture -i` accepts. The
 * `cap` binding exposes this list; `pcap` does not.
 */
export function captureDevices(): CaptureDevice[] {
  const { Cap } = nativeModule<CapModule>('cap', 'listing capture interfaces');
  return Cap.deviceList().map((d) => ({
    name: d.name,
    ...(d.description === undefined ? {} : { description: d.description }),
    addresses: d.addresses.map((a) => a.addr),
  }));
}
