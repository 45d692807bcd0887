import { u16 } from './bytes.js';
import { LAYER, type Layer } from './layer.js';
import type { Packet } from './packet.js';

/**
 * TCP (RFC 9293): src port 2 | dst port 2 | seq 4 | ack 4 | data offset 4b, reserved 4b | flags 1 | window 2 |
 * checksum 2 | urgent 2 | options.
 */
const MIN_HEADER = 20;

export function decodeTcp(pk: Packet, b: Buffer, p: number, end: number): Layer {
  if (end - p < 4) return pk.short('tcp');
  pk.sport = u16(b, p);
  pk.dport = u16(b, p + 2);
  if (end - p < 14) return pk.short('tcp');
  pk.tcpFlags = b[p + 13] as number;
  if ((b[p + 12] as number) >> 4 < 5) return pk.malformed('tcp_bad_data_offset');
  if (end - p < MIN_HEADER) return pk.short('tcp');
  pk.payloadStart = p + ((b[p + 12] as number) >> 4) * 4;
  return LAYER.done;
}
