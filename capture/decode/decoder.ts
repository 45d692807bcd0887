import { LINKTYPE } from '../link-types.js';
import { decodeArp } from './arp.js';
import { decodeErspan } from './erspan.js';
import { decodeEthernet } from './ethernet.js';
import { decodeGeneve } from './geneve.js';
import { decodeGre } from './gre.js';
import { decodeIcmp } from './icmp.js';
import { decodeIpInIp } from './ip-in-ip.js';
import { decodeIpv4, rememberFragments } from './ipv4.js';
import { decodeIpv6 } from './ipv6.js';
import { LAYER, type Layer, layerTable } from './layer.js';
import { decodeLinuxSll, decodeLinuxSll2 } from './linux-sll.js';
import { decodeNullLoopback, decodeRawIp } from './null-loopback.js';
import { Packet } from './packet.js';
import { decodeTcp } from './tcp.js';
import { decodeUdp } from './udp.js';
import { decodeVxlan } from './vxlan.js';

const LINK_LAYERS = layerTable(0x10000, [
  [LINKTYPE.ETHERNET, LAYER.ethernet],
  [LINKTYPE.LINUX_SLL, LAYER.linuxSll],
  [LINKTYPE.LINUX_SLL2, LAYER.linuxSll2],
  [LINKTYPE.RAW, LAYER.rawIp],
  [LINKTYPE.DLT_RAW_BSD, LAYER.rawIp],
  [LINKTYPE.DLT_RAW_OPENBSD, LAYER.rawIp],
  [LINKTYPE.IPV4, LAYER.ipv4],
  [LINKTYPE.IPV6, LAYER.ipv6],
  [LINKTYPE.NULL, LAYER.nullLoopback],
  [LINKTYPE.LOOP, LAYER.openbsdLoopback],
]);

/**
 * Only a tunnel leads back to a lower layer, and tunnels nest at most MAX_TUNNEL_DEPTH deep, so a frame
 * has a few dozen layers at most. The bound keeps a decoder bug from ever becoming a hang.
 */
const MAX_LAYERS = 64;

/**
 * Decodes frames into one reused Packet. Never throws on frame data: every outcome is a status plus a
 * reason, which `decode` returns for the caller to count.
 */
export class Decoder {
  readonly packet = new Packet();

  decode(b: Buffer, offset: number, caplen: number, origLen: number, linkType: number): Packet {
    const pk = this.packet;
    pk.reset(b, offset, caplen, origLen, linkType);
    let layer = (linkType < LINK_LAYERS.length ? LINK_LAYERS[linkType] : LAYER.done) as Layer;
    if (layer === LAYER.done) {
      pk.unsupported('link_type');
      return pk;
    }
    let p = offset;
    let end = offset + caplen;
    for (let n = 0; layer !== LAYER.done; n++) {
      if (n === MAX_LAYERS) {
        pk.malformed('too_many_layers');
        break;
      }
      layer = decodeLayer(pk, b, p, end, layer);
      p = pk.nextAt;
      end = pk.nextEnd;
    }
    if (pk.pendingCount > 0) rememberFragments(pk);
    return pk;
  }
}

/** One step of the loop. A switch of direct calls, so V8 can inline the common decoders. */
function decodeLayer(pk: Packet, b: Buffer, p: number, end: number, layer: Layer): Layer {
  switch (layer) {
    case LAYER.ethernet:
      return decodeEthernet(pk, b, p, end);
    case LAYER.ipv4:
      return decodeIpv4(pk, b, p, end);
    case LAYER.tcp:
      return decodeTcp(pk, b, p, end);
    case LAYER.udp:
      return decodeUdp(pk, b, p, end);
    case LAYER.ipv6:
      return decodeIpv6(pk, b, p, end);
    case LAYER.arp:
      return decodeArp(pk, b, p, end);
    case LAYER.icmp:
      return decodeIcmp(pk, p, end);
    case LAYER.vxlan:
      return decodeVxlan(pk, b, p, end);
    case LAYER.geneve:
      return decodeGeneve(pk, b, p, end);
    case LAYER.gre:
      return decodeGre(pk, b, p, end);
    case LAYER.erspan1:
      return decodeErspan(pk, b, p, end, 1);
    case LAYER.erspan2:
      return decodeErspan(pk, b, p, end, 2);
    case LAYER.erspan3:
      return decodeErspan(pk, b, p, end, 3);
    case LAYER.ipInIp:
      return decodeIpInIp(pk, p, end);
    case LAYER.linuxSll:
      return decodeLinuxSll(pk, b, p, end);
    case LAYER.linuxSll2:
      return decodeLinuxSll2(pk, b, p, end);
    case LAYER.rawIp:
      return decodeRawIp(pk, b, p, end);
    case LAYER.nullLoopback:
      return decodeNullLoopback(pk, b, p, end, false);
    case LAYER.openbsdLoopback:
      return decodeNullLoopback(pk, b, p, end, true);
    case LAYER.done:
      return LAYER.done;
  }
}
