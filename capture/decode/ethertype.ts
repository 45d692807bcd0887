import { LAYER, type Layer, layerTable } from './layer.js';
import { ACCOUNT, type Packet } from './packet.js';

/** EtherType → layer (IEEE registry). Anything else is still a valid MAC-to-MAC frame. */
const ETHERTYPES = layerTable(0x10000, [
  [0x0800, LAYER.ipv4],
  [0x86dd, LAYER.ipv6],
  [0x0806, LAYER.arp],
  [0x8035, LAYER.arp], // RARP: QEMU's announce-self after a live migration
]);

export function etherTypeLayer(pk: Packet, type: number): Layer {
  pk.etherType = type;
  const next = ETHERTYPES[type] as Layer;
  if (next === LAYER.done) pk.account = ACCOUNT.l2;
  return next;
}
