import { LAYER, type Layer } from './layer.js';
import type { Packet } from './packet.js';

/**
 * ICMP (RFC 792) and ICMPv6 (RFC 4443): type 1 | code 1 | checksum 2 | rest 4. Flows key ICMP with ports 0,
 * so an echo request and its reply share one bidirectional record.
 */
export function decodeIcmp(pk: Packet, p: number, end: number): Layer {
  if (end - p < 4 && !pk.fragment) return pk.short('icmp');
  return LAYER.done;
}
