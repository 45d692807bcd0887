import { CaptureError } from '../capture-error.js';
import { LINKTYPE } from '../link-types.js';
import { firstLine, nativeModule } from './native-module.js';

/** The parts of node_pcap's session that live capture uses (its typings stop short of these). */
export interface PcapSession {
  readonly link_type: string;
  /** Reused for every packet: the frame, and ts sec, ts usec, caplen, len as 32-bit little-endian. */
  readonly buf: Buffer;
  readonly header: Buffer;
  readonly session: { dispatch(buf: Buffer, header: Buffer): number };
  on(event: 'packet', listener: () => void): void;
  stats(): { ps_recv: number; ps_drop: number; ps_ifdrop: number };
  close(): void;
}

interface PcapModule {
  createSession(
    device: string,
    options: { filter: string; snap_length: number; buffer_size: number; buffer_timeout: number },
  ): PcapSession;
  warningHandler: (text: string) => void;
}

export interface OpenOptions {
  filter: string;
  snaplen: number;
  /** Kernel ring size in bytes. */
  bufferBytes: number;
  /** Deliver each packet at once (no batching in the kernel); otherwise batches wait up to timeoutMs. */
  immediate: boolean;
  timeoutMs: number;
}

const LINK_TYPES: Record<string, number> = {
  LINKTYPE_NULL: LINKTYPE.NULL,
  LINKTYPE_ETHERNET: LINKTYPE.ETHERNET,
  LINKTYPE_RAW: LINKTYPE.RAW,
  LINKTYPE_LINUX_SLL: LINKTYPE.LINUX_SLL,
};

/** Opens a live capture on one interface; libpcap's refusals become errors that say what to do. */
export function openInterface(
  name: string,
  options: OpenOptions,
  warn: (text: string) => void,
): { session: PcapSession; linkType: number } {
  const pcap = nativeModule<PcapModule>('pcap', 'live capture');
  // libpcap's warnings (e.g. an interface without an IPv4 address) would go to console.error.
  pcap.warningHandler = (text) => {
    // Taps have no address of their own; saying so for each is noise.
    if (!/SIOCGIFADDR|no IPv4 address/.test(text)) warn(text);
  };
  let session: PcapSession;
  try {
    session = pcap.createSession(name, {
      filter: options.filter,
      snap_length: options.snaplen,
      buffer_size: options.bufferBytes,
      buffer_timeout: options.immediate ? 0 : options.timeoutMs,
    });
  } catch (err) {
    throw openError(name, firstLine(err), options.filter);
  }
  const linkType = LINK_TYPES[session.link_type];
  if (linkType === undefined) {
    session.close();
    throw new CaptureError(
      'unsupported_link_type',
      `${name}: link type ${session.link_type} is not one sky-plan decodes (Ethernet, Linux cooked, raw IP, BSD loopback)`,
    );
  }
  return { session, linkType };
}

function openError(name: string, message: string, filter: string): CaptureError {
  if (/permission|not permitted/i.test(message)) {
    return new CaptureError(
      'capture_permission',
      `capturing on ${name} needs the CAP_NET_RAW and CAP_NET_ADMIN capabilities (${message}): run as root, ` +
        `or grant them to node with: setcap cap_net_raw,cap_net_admin=eip ${process.execPath}`,
    );
  }
  if (/no such device/i.test(message)) {
    return new CaptureError(
      'no_such_interface',
      `there is no interface "${name}" (ip -br link lists them; --libvirt finds the VMs' taps)`,
    );
  }
  if (filter !== '' && /syntax|unknown|illegal|parse|expression|filter/i.test(message)) {
    return new CaptureError('bad_filter', `--filter "${filter}" is not a valid BPF expression: ${message}`);
  }
  return new CaptureError('capture_open_failed', `cannot capture on ${name}: ${message}`);
}
