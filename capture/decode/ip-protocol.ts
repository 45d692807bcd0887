import { LAYER, type Layer, layerTable } from './layer.js';

/** IANA protocol number → layer. Other protocols are accounted at the IP layer with ports 0. */
const PROTOCOLS = layerTable(0x100, [
  [1, LAYER.icmp],
  [4, LAYER.ipInIp],
  [6, LAYER.tcp],
  [17, LAYER.udp],
  [41, LAYER.ipInIp],
  [47, LAYER.gre],
  [58, LAYER.icmp],
]);

export function ipProtocolLayer(proto: number): Layer {
  return PROTOCOLS[proto] as Layer;
}
