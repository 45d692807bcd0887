/** LINKTYPE_* values from https://www.tcpdump.org/linktypes.html for the link layers sky-plan decodes. */
export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
  // Some platforms wrote their DLT_RAW value into files instead of LINKTYPE_RAW.
  DLT_RAW_BSD: 12,
  DLT_RAW_OPENBSD: 14,
} as const;

const NAMES: Record<number, string> = {
  0: 'NULL (BSD loopback)',
  1: 'ETHERNET',
  6: 'IEEE802_5',
  9: 'PPP',
  12: 'RAW',
  14: 'RAW',
  50: 'PPP_HDLC',
  101: 'RAW',
  104: 'C_HDLC',
  105: 'IEEE802_11',
  108: 'LOOP',
  113: 'LINUX_SLL',
  127: 'IEEE802_11_RADIOTAP',
  147: 'USER0',
  192: 'PPI',
  195: 'IEEE802_15_4',
  201: 'BLUETOOTH_HCI_H4_WITH_PHDR',
  220: 'USB_LINUX_MMAPPED',
  228: 'IPV4',
  229: 'IPV6',
  249: 'USBPCAP',
  276: 'LINUX_SLL2',
};

export function linkTypeName(linkType: number): string {
  return `${linkType} (${NAMES[linkType] ?? 'unknown'})`;
}
