import { LINKTYPE } from '../link-types.js';
import { dispatchTable } from './dispatch-table.js';
import { decodeEthernet } from './ethernet.js';
import { decodeIpv4 } from './ipv4.js';
import { decodeIpv6 } from './ipv6.js';
import { decodeLinuxSll, decodeLinuxSll2 } from './linux-sll.js';
import { decodeNullLoopback, decodeRawIp } from './null-loopback.js';
import { Packet } from './packet.js';

type LinkDecoder = (pk: Packet, b: Buffer, p: number, end: number) => boolean;

const LINK_DECODERS = dispatchTable<LinkDecoder>(0x10000, [
  [LINKTYPE.ETHERNET, decodeEthernet],
  [LINKTYPE.LINUX_SLL, decodeLinuxSll],
  [LINKTYPE.LINUX_SLL2, decodeLinuxSll2],
  [LINKTYPE.RAW, decodeRawIp],
  [LINKTYPE.DLT_RAW_BSD, decodeRawIp],
  [LINKTYPE.DLT_RAW_OPENBSD, decodeRawIp],
  [LINKTYPE.IPV4, decodeIpv4],
  [LINKTYPE.IPV6, decodeIpv6],
  [LINKTYPE.NULL, (pk, b, p, end) => decodeNullLoopback(pk, b, p, end, false)],
  [LINKTYPE.LOOP, (pk, b, p, end) => decodeNullLoopback(pk, b, p, end, true)],
]);

/**
 * Decodes frames into one reused Packet. Never throws on frame data: every outcome is a status plus a
 * reason, which `decode` returns for the caller to count.
 */
export class Decoder {
  readonly packet = new Packet();

  decode(b: Buffer, offset: number, caplen: number, origLen: number, linkType: number): Packet {
    const pk = this.packet;
    pk.reset(b, offset, caplen, origLen, linkType);
    if (linkType === LINKTYPE.ETHERNET) {
      decodeEthernet(pk, b, offset, offset + caplen);
      return pk;
    }
    const decode = linkType < LINK_DECODERS.length ? LINK_DECODERS[linkType] : undefined;
    if (decode === undefined) pk.unsupported('link_type');
    else decode(pk, b, offset, offset + caplen);
    return pk;
  }
}
