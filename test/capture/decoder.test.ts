import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ipToString, macToString } from '../../capture/addresses.js';
import { Decoder } from '../../capture/decode/decoder.js';
import { ACCOUNT, GROUP, STATUS } from '../../capture/decode/packet.js';
import { MAX_TUNNEL_DEPTH } from '../../capture/decode/tunnel-kinds.js';
import { LINKTYPE } from '../../capture/link-types.js';
import { frame, hex, tcpFrame } from '../helpers.js';

const decoder = new Decoder();
const decode = (b: Buffer, linkType: number = LINKTYPE.ETHERNET, origLen = b.length) =>
  decoder.decode(b, 0, b.length, origLen, linkType);
const A = '02:00:00:00:00:01';
const B = '02:00:00:00:00:02';

describe('Ethernet, VLAN, ARP', () => {
  it('decodes Ethernet II + IPv4 + TCP and counts the whole frame', () => {
    const pk = decode(tcpFrame('10.0.0.1', '10.0.0.2', 40000, 80, 100, 0x18));
    assert.equal(pk.status, STATUS.ok);
    assert.equal(macToString(pk.srcMac), A);
    assert.equal(macToString(pk.dstMac), B);
    assert.equal(ipToString(4, pk.src), '10.0.0.1');
    assert.equal(ipToString(4, pk.dst), '10.0.0.2');
    assert.deepEqual([pk.proto, pk.sport, pk.dport, pk.tcpFlags], [6, 40000, 80, 0x18]);
    assert.equal(pk.frameBytes, 14 + 20 + 20 + 100);
    assert.equal(pk.l3Bytes, 140);
  });

  it('reads 802.1Q and QinQ tags into one VLAN key', () => {
    const single = Buffer.concat([
      frame.eth(B, A, 0x8100),
      frame.vlan(118, 0x0800),
      frame.ipv4('1.1.1.1', '2.2.2.2', 17, 8),
      frame.udp(1, 2, 0),
    ]);
    assert.equal(decode(single).vlan, 118);
    const qinq = Buffer.concat([
      frame.eth(B, A, 0x88a8),
      frame.vlan(209, 0x8100),
      frame.vlan(20, 0x0800),
      frame.ipv4('1.1.1.1', '2.2.2.2', 17, 8),
      frame.udp(1, 2, 0),
    ]);
    const pk = decode(qinq);
    assert.equal(pk.status, STATUS.ok);
    assert.equal(pk.vlan, (209 << 12) | 20);
    assert.equal(pk.dport, 2);
  });

  it('learns the sender binding from ARP and marks broadcast', () => {
    const arp = hex('0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a000002');
    const pk = decode(Buffer.concat([frame.eth('ff:ff:ff:ff:ff:ff', A, 0x0806), arp]));
    assert.equal(pk.account, ACCOUNT.l2);
    assert.equal(pk.groupDst, GROUP.broadcast);
    assert.equal(pk.arpOp, 1);
    assert.equal(macToString(pk.arpSenderMac), A);
    assert.equal(ipToString(4, [pk.arpSenderIp]), '10.0.0.1');
  });

  it('accounts unknown EtherTypes as MAC-to-MAC frames', () => {
    const pk = decode(Buffer.concat([frame.eth(B, A, 0x88cc), Buffer.alloc(30)]));
    assert.equal(pk.status, STATUS.ok);
    assert.equal(pk.account, ACCOUNT.l2);
    assert.equal(pk.etherType, 0x88cc);
  });
});

describe('IPv4 and IPv6', () => {
  it('skips IPv4 options', () => {
    const options = hex('94040000'); // router alert
    const b = Buffer.concat([
      frame.eth(B, A, 0x0800),
      frame.ipv4('1.1.1.1', '2.2.2.2', 6, 20, { options }),
      frame.tcp(5, 6, 0x02),
    ]);
    const pk = decode(b);
    assert.equal(pk.status, STATUS.ok);
    assert.deepEqual([pk.sport, pk.dport, pk.tcpFlags], [5, 6, 0x02]);
  });

  it('gives later fragments the ports of their first fragment', () => {
    const first = Buffer.concat([
      frame.eth(B, A, 0x0800),
      frame.ipv4('1.1.1.1', '2.2.2.2', 17, 16, { id: 77, flags: 0x2000 }),
      frame.udp(1234, 5678, 100),
      Buffer.alloc(8),
    ]);
    assert.equal(decode(first).dport, 5678);
    const later = Buffer.concat([
      frame.eth(B, A, 0x0800),
      frame.ipv4('1.1.1.1', '2.2.2.2', 17, 8, { id: 77, flags: 2 }),
      Buffer.alloc(8),
    ]);
    const pk = decode(later);
    assert.equal(pk.status, STATUS.ok);
    assert.deepEqual([pk.sport, pk.dport], [1234, 5678]);
    const stranger = Buffer.concat([
      frame.eth(B, A, 0x0800),
      frame.ipv4('1.1.1.1', '2.2.2.2', 17, 8, { id: 78, flags: 2 }),
      Buffer.alloc(8),
    ]);
    assert.deepEqual([decode(stranger).sport, decode(stranger).dport], [0, 0]);
  });

  it('accepts IPv4 total length 0 (TSO/BIG TCP) and counts the frame length', () => {
    const b = Buffer.concat([
      frame.eth(B, A, 0x0800),
      frame.ipv4('1.1.1.1', '2.2.2.2', 6, 0, { totalLength: 0 }),
      frame.tcp(1, 2, 0x10),
      Buffer.alloc(70000),
    ]);
    const pk = decode(b);
    assert.equal(pk.status, STATUS.ok);
    assert.equal(pk.frameBytes, b.length);
  });

  it('walks IPv6 extension headers to the transport header', () => {
    const hopByHop = hex('2b00 0000 0000 0000'); // next: routing (43), len 0
    const routing = hex('2c00 0000 0000 0000'); // next: fragment (44)
    const fragment = hex('0600 0001 0000 0001'); // next: TCP, offset 0, M=1
    const tcp = frame.tcp(443, 50000, 0x12);
    const b = Buffer.concat([
      frame.eth(B, A, 0x86dd),
      frame.ipv6('2001:db8::1', '2001:db8::2', 0, 44),
      hopByHop,
      routing,
      fragment,
      tcp,
    ]);
    const pk = decode(b);
    assert.equal(pk.status, STATUS.ok);
    assert.equal(pk.ipVersion, 6);
    assert.equal(ipToString(6, pk.src), '2001:db8::1');
    assert.deepEqual([pk.proto, pk.sport, pk.dport, pk.tcpFlags], [6, 443, 50000, 0x12]);
  });

  it('marks IPv6 multicast destinations as group traffic', () => {
    const b = Buffer.concat([
      frame.eth('33:33:00:00:00:fb', A, 0x86dd),
      frame.ipv6('fe80::1', 'ff02::fb', 17, 8),
      frame.udp(5353, 5353, 0),
    ]);
    assert.equal(decode(b).groupDst, GROUP.multicast);
  });

  it('decodes ICMP and ICMPv6 with ports 0', () => {
    const icmp = Buffer.concat([
      frame.eth(B, A, 0x0800),
      frame.ipv4('1.1.1.1', '2.2.2.2', 1, 8),
      hex('0800 0000 0001 0001'),
    ]);
    const pk = decode(icmp);
    assert.deepEqual([pk.status, pk.proto, pk.sport, pk.dport], [STATUS.ok, 1, 0, 0]);
    const icmp6 = Buffer.concat([
      frame.eth(B, A, 0x86dd),
      frame.ipv6('2001:db8::1', '2001:db8::2', 58, 8),
      hex('8000 0000 0001 0001'),
    ]);
    assert.equal(decode(icmp6).proto, 58);
  });
});

describe('tunnels', () => {
  const inner = tcpFrame('192.168.0.1', '192.168.0.2', 1000, 2000, 10);
  it('decapsulates VXLAN: the edge counts the inner frame, the rest is overhead', () => {
    const b = Buffer.concat([
      frame.eth('02:aa:00:00:00:02', '02:aa:00:00:00:01', 0x0800),
      frame.ipv4('172.16.0.1', '172.16.0.2', 17, 16 + inner.length),
      frame.udp(55555, 4789, 8 + inner.length),
      frame.vxlan(5001),
      inner,
    ]);
    const pk = decode(b);
    assert.equal(pk.status, STATUS.ok);
    assert.equal(pk.tunnelKind, 'vxlan');
    assert.equal(pk.vni, 5001);
    assert.equal(ipToString(4, pk.src), '192.168.0.1');
    assert.equal(ipToString(4, pk.tunnelSrc), '172.16.0.1');
    assert.equal(pk.frameBytes, inner.length);
    assert.equal(pk.overheadBytes, 50);
  });

  it('forgets the VNI of the previous frame', () => {
    decode(
      Buffer.concat([
        frame.eth(B, A, 0x0800),
        frame.ipv4('172.16.0.1', '172.16.0.2', 17, 16 + inner.length),
        frame.udp(1, 4789, 8 + inner.length),
        frame.vxlan(9),
        inner,
      ]),
    );
    assert.equal(decode(inner).vni, -1);
  });

  it('decapsulates Geneve with options', () => {
    const geneve = hex('01 00 6558 00000a 00 | 0102 0300 deadbeef'); // one 4-byte option word... plus data
    const b = Buffer.concat([
      frame.eth(B, A, 0x0800),
      frame.ipv4('20.0.0.1', '20.0.0.2', 17, 8 + 12 + inner.length),
      frame.udp(1, 6081, 12 + inner.length),
      geneve.subarray(0, 12),
      inner,
    ]);
    const pk = decode(b);
    assert.equal(pk.status, STATUS.ok);
    assert.equal(pk.tunnelKind, 'geneve');
    assert.equal(pk.vni, 10);
    assert.equal(pk.frameBytes, inner.length);
  });

  it('decapsulates GRE with a key (transparent Ethernet bridging) and ERSPAN II/III', () => {
    const teb = Buffer.concat([
      frame.eth(B, A, 0x0800),
      frame.ipv4('10.1.1.1', '10.1.1.2', 47, 8 + inner.length),
      hex('2000 6558 00abcd00'),
      inner,
    ]);
    const pk = decode(teb);
    assert.equal(pk.tunnelKind, 'gre');
    assert.equal(pk.vni, 0xabcd);
    assert.equal(pk.frameBytes, inner.length);
    const erspan2 = Buffer.concat([
      frame.eth(B, A, 0x0800),
      frame.ipv4('10.1.1.1', '10.1.1.2', 47, 16 + inner.length),
      hex('1000 88be 00000001'),
      hex('1000 0001 0000 0000'),
      inner,
    ]);
    const pk2 = decode(erspan2);
    assert.equal(pk2.status, STATUS.ok);
    assert.equal(pk2.tunnelKind, 'erspan');
    assert.equal(pk2.frameBytes, inner.length);
    const erspan3 = Buffer.concat([
      frame.eth(B, A, 0x0800),
      frame.ipv4('10.1.1.1', '10.1.1.2', 47, 20 + inner.length),
      hex('1000 22eb 00000001'),
      hex('2000 0001 00000000 0000 0000'),
      inner,
    ]);
    assert.equal(decode(erspan3).frameBytes, inner.length);
  });

  it('decapsulates GRE carrying IPv4 directly', () => {
    const ip = inner.subarray(14);
    const pk = decode(
      Buffer.concat([
        frame.eth(B, A, 0x0800),
        frame.ipv4('10.1.1.1', '10.1.1.2', 47, 4 + ip.length),
        hex('0000 0800'),
        ip,
      ]),
    );
    assert.equal(ipToString(4, pk.src), '192.168.0.1');
    assert.equal(pk.frameBytes, ip.length);
  });

  it(`stops decapsulating at depth ${MAX_TUNNEL_DEPTH}`, () => {
    let f = inner;
    for (let i = 0; i < MAX_TUNNEL_DEPTH + 1; i++) {
      f = Buffer.concat([
        frame.eth(B, A, 0x0800),
        frame.ipv4(`172.16.0.${i + 1}`, '172.16.1.1', 17, 16 + f.length),
        frame.udp(1, 4789, 8 + f.length),
        frame.vxlan(i),
        f,
      ]);
    }
    const pk = decode(f);
    assert.equal(pk.status, STATUS.ok);
    assert.equal(pk.tunnelDepth, MAX_TUNNEL_DEPTH);
    assert.equal(pk.tunnelDepthExceeded, true);
    assert.equal(pk.dport, 4789);
  });

  it('never accounts a tunnel whose inner frame was cut off', () => {
    const b = Buffer.concat([
      frame.eth(B, A, 0x0800),
      frame.ipv4('172.16.0.1', '172.16.0.2', 17, 16 + inner.length),
      frame.udp(1, 4789, 8 + inner.length),
      frame.vxlan(1),
      inner,
    ]);
    const pk = decoder.decode(b, 0, 60, b.length, LINKTYPE.ETHERNET);
    assert.equal(pk.status, STATUS.truncated);
    assert.equal(pk.account, ACCOUNT.none);
    assert.equal(pk.tunnelDepth, 1);
  });
});

describe('link types', () => {
  const ip = tcpFrame('10.0.0.1', '10.0.0.2', 1, 2).subarray(14);
  it('decodes Linux cooked v1 and v2', () => {
    const sll = Buffer.concat([hex('0000 0001 0006 020000000001 0000 0800'), ip]);
    const pk = decode(sll, LINKTYPE.LINUX_SLL);
    assert.equal(pk.status, STATUS.ok);
    assert.equal(macToString(pk.srcMac), A);
    assert.equal(pk.frameBytes, sll.length);
    const sll2 = Buffer.concat([hex('0800 0000 00000002 0001 01 06 020000000001 0000'), ip]);
    const pk2 = decode(sll2, LINKTYPE.LINUX_SLL2);
    assert.equal(pk2.status, STATUS.ok);
    assert.equal(pk2.groupDst, GROUP.broadcast);
  });

  it('decodes raw IP, BSD null (either byte order) and OpenBSD loop', () => {
    assert.equal(decode(ip, LINKTYPE.RAW).dport, 2);
    assert.equal(decode(ip, LINKTYPE.IPV4).dport, 2);
    assert.equal(decode(Buffer.concat([hex('02000000'), ip]), LINKTYPE.NULL).dport, 2);
    assert.equal(decode(Buffer.concat([hex('00000002'), ip]), LINKTYPE.NULL).dport, 2);
    assert.equal(decode(Buffer.concat([hex('00000002'), ip]), LINKTYPE.LOOP).dport, 2);
  });

  it('names an unsupported link type instead of guessing', () => {
    const pk = decode(ip, 147);
    assert.equal(pk.status, STATUS.unsupported);
    assert.equal(pk.reason, 'link_type');
    assert.equal(pk.account, ACCOUNT.none);
  });
});

describe('damage', () => {
  const good = tcpFrame('10.0.0.1', '10.0.0.2', 1, 2, 50);
  it('calls a frame cut by the snaplen truncated, and still accounts its addresses', () => {
    const pk = decoder.decode(good, 0, 40, good.length, LINKTYPE.ETHERNET);
    assert.equal(pk.status, STATUS.truncated);
    assert.equal(pk.reason, 'tcp');
    assert.equal(pk.account, ACCOUNT.ip);
    assert.equal(pk.frameBytes, good.length);
  });

  it('calls a frame too short for its own headers malformed, with a named reason', () => {
    const pk = decoder.decode(good, 0, 40, 40, LINKTYPE.ETHERNET);
    assert.equal(pk.status, STATUS.malformed);
    assert.equal(pk.reason, 'tcp_too_short');
    const badVersion = Buffer.from(good);
    badVersion[14] = 0x55;
    assert.equal(decode(badVersion).reason, 'ipv4_bad_version');
    const badOffset = Buffer.from(good);
    badOffset[14 + 20 + 12] = 0x20;
    assert.equal(decode(badOffset).reason, 'tcp_bad_data_offset');
  });

  it('never throws on random bytes', () => {
    let seed = 12345;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 24;
    };
    const buf = Buffer.alloc(200);
    for (let i = 0; i < 20000; i++) {
      const len = rnd() % 200;
      for (let j = 0; j < len; j++) buf[j] = rnd();
      if (i % 3 === 0) buf.writeUInt16BE(0x0800, 12);
      const pk = decoder.decode(buf, 0, len, len + (i % 2) * 10, [1, 113, 276, 101, 0][i % 5] as number);
      assert.ok(pk.status >= 0 && pk.status <= 3);
    }
  });
});
