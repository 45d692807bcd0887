/** Tunnel names, indexed so fragment state can store them in a byte. */
export const TUNNEL_KINDS = ['', 'vxlan', 'geneve', 'gre', 'erspan', 'ipip', 'ip6in4'] as const;
export type TunnelKind = (typeof TUNNEL_KINDS)[number];
export const TUNNEL = { vxlan: 1, geneve: 2, gre: 3, erspan: 4, ipip: 5, ip6in4: 6 } as const;

/** Nesting deeper than this is treated as payload: no real overlay stacks more, and it bounds the work. */
export const MAX_TUNNEL_DEPTH = 4;
