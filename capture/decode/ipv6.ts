import { u16, u32 } from './bytes.js';
import { ipProtocolLayer } from './ip-protocol.js';
import { LAYER, type Layer } from './layer.js';
import { ACCOUNT, GROUP, NONE, type Packet } from './packet.js';

/**
 * IPv6 (RFC 8200): ver 4b | class 8b | flow 20b | payload length 2 | next header | hop limit | src 16 | dst 16,
 * then extension headers. Hop-by-hop (0), routing (43), destination options (60), mobility (135),
 * HIP (139) and shim6 (140) are (len+1)*8 bytes; fragment (44) is 8; AH (51, RFC 4302) is (len+2)*4.
 * Payload length 0 means a jumbogram or BIG TCP: the payload runs to the end of the frame.
 */
const HEADER = 40;
const MAX_EXTENSIONS = 8;

export function decodeIpv6(pk: Packet, b: Buffer, p: number, end: number): Layer {
  if (end - p < HEADER) return pk.short('ipv6');
  if ((b[p] as number) >> 4 !== 6) return pk.malformed('ipv6_bad_version');
  pk.l3Start = p;
  pk.ipVersion = 6;
  for (let i = 0; i < 4; i++) {
    pk.src[i] = u32(b, p + 8 + i * 4);
    pk.dst[i] = u32(b, p + 24 + i * 4);
  }
  if (b[p + 24] === 0xff && pk.groupDst === GROUP.none) pk.groupDst = GROUP.multicast;
  pk.account = ACCOUNT.ip;
  const payloadLength = u16(b, p + 4);
  pk.l3Length = payloadLength === 0 ? NONE : HEADER + payloadLength; // 0: a jumbogram or GSO, the wire says
  pk.payloadStart = p + HEADER;
  if (pk.innerFromFragment && pk.tunnelDepth > 0 && pk.innerLength < 0) {
    pk.innerLength = p - pk.innerStart + HEADER + payloadLength;
  }
  const payloadEnd =
    payloadLength !== 0 && p + HEADER + payloadLength < end ? p + HEADER + payloadLength : end;
  let next = b[p + 6] as number;
  p += HEADER;
  let laterFragment = false;
  let fragment = false;
  for (let i = 0; ; i++) {
    pk.proto = next;
    if (
      next !== 0 &&
      next !== 43 &&
      next !== 60 &&
      next !== 135 &&
      next !== 139 &&
      next !== 140 &&
      next !== 44 &&
      next !== 51
    ) {
      break;
    }
    if (i === MAX_EXTENSIONS) return pk.malformed('ipv6_too_many_extension_headers');
    if (payloadEnd - p < 8) return pk.short('ipv6_extension');
    let len: number;
    if (next === 44) {
      len = 8;
      fragment = true;
      laterFragment = (u16(b, p + 2) & 0xfff8) !== 0;
    } else if (next === 51) len = ((b[p + 1] as number) + 2) * 4;
    else len = ((b[p + 1] as number) + 1) * 8;
    next = b[p] as number;
    p += len;
  }
  // The last extension header may claim more than the packet has.
  if (p > payloadEnd) return pk.short('ipv6_extension');
  if (laterFragment) return LAYER.done;
  pk.fragment = fragment;
  return pk.next(ipProtocolLayer(pk.proto), p, payloadEnd);
}
