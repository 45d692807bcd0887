/**
 * Writes a classic little-endian microsecond pcap record header at `p`. The time is rounded to the
 * microsecond as a whole, so 1.9999996 s is 2.000000, not 1.000000 (rounding the fraction alone wraps).
 */
export function writePcapRecordHeader(
  buf: Buffer,
  p: number,
  ts: number,
  caplen: number,
  origLen: number,
): void {
  const micros = Math.round(ts * 1e6);
  const sec = Math.floor(micros / 1e6);
  buf.writeUInt32LE(sec, p);
  buf.writeUInt32LE(micros - sec * 1e6, p + 4);
  buf.writeUInt32LE(caplen, p + 8);
  buf.writeUInt32LE(origLen, p + 12);
}
