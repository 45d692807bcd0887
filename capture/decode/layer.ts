/**
 * The layers a decoder can hand a frame on to. A decoder reads its own header and returns the layer that
 * follows it (or `done`), with `Packet.nextAt`/`nextEnd` marking that layer's bytes; `Decoder` runs the
 * loop. Decoders never call one another, so each imports this table and no other decoder (gopacket's
 * NextLayerType).
 */
export const LAYER = {
  done: 0,
  ethernet: 1,
  linuxSll: 2,
  linuxSll2: 3,
  rawIp: 4,
  nullLoopback: 5,
  openbsdLoopback: 6,
  ipv4: 7,
  ipv6: 8,
  arp: 9,
  tcp: 10,
  udp: 11,
  icmp: 12,
  gre: 13,
  erspan1: 14,
  erspan2: 15,
  erspan3: 16,
  geneve: 17,
  vxlan: 18,
  ipInIp: 19,
} as const;
export type Layer = (typeof LAYER)[keyof typeof LAYER];

/**
 * A dense table from a small integer key (EtherType, port, protocol number, link type) to the layer it
 * announces; 0 (`done`) where the key announces nothing we decode. Typed and indexed directly: no hashing
 * per frame.
 */
export function layerTable(size: number, entries: readonly (readonly [number, Layer])[]): Uint8Array {
  const table = new Uint8Array(size);
  for (const [key, layer] of entries) table[key] = layer;
  return table;
}
