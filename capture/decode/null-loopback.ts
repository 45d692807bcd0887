import { u32, u32le } from './bytes.js';
import { LAYER, type Layer } from './layer.js';
import type { Packet } from './packet.js';

/**
 * BSD loopback (LINKTYPE_NULL: a 4-byte address family in the capturing host's byte order) and OpenBSD
 * loopback (LINKTYPE_LOOP: the same in network order). AF_INET is 2 everywhere; AF_INET6 is 24, 28 or 30
 * depending on the BSD. https://www.tcpdump.org/linktypes/LINKTYPE_NULL.html
 */
const AF_INET = 2;

export function decodeNullLoopback(
  pk: Packet,
  b: Buffer,
  p: number,
  end: number,
  networkOrder: boolean,
): Layer {
  if (end - p < 4) return pk.short('null');
  let family = networkOrder ? u32(b, p) : u32le(b, p);
  // The writer's byte order is unknown for LINKTYPE_NULL: a family above 0xffff was written big-endian.
  if (family > 0xffff) family = u32(b, p);
  if (family === AF_INET) return pk.next(LAYER.ipv4, p + 4, end);
  if (family === 24 || family === 28 || family === 30) return pk.next(LAYER.ipv6, p + 4, end);
  return pk.unsupported('null_address_family');
}

/** Raw IP (LINKTYPE_RAW): the version nibble says which. */
export function decodeRawIp(pk: Packet, b: Buffer, p: number, end: number): Layer {
  if (end - p < 1) return pk.short('raw_ip');
  const version = (b[p] as number) >> 4;
  if (version === 4) return pk.next(LAYER.ipv4, p, end);
  if (version === 6) return pk.next(LAYER.ipv6, p, end);
  return pk.malformed('raw_ip_bad_version');
}
