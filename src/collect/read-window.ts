import * as v from 'valibot';
import { WINDOW_SCHEMA, type WindowDocument } from '../../capture/window-document.js';

/** 2200-01-01 in seconds: a later time is a clock gone wrong, whatever sent it. */
const MAX_TIME = 7258118400;

/** Counters and times: finite, and exact as doubles (Infinity or 1e300 would poison every sum they join). */
const count = v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER));
const time = v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(MAX_TIME));
const name = v.pipe(v.string(), v.minLength(1), v.maxLength(256));

/** The header of a window document; endpoints and flows are checked by hand (they are the bulk). */
const header = v.object({
  schema: v.literal(WINDOW_SCHEMA),
  id: name,
  collector: name,
  host: name,
  instance: name,
  seq: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  window: v.object({
    seconds: v.pipe(v.number(), v.minValue(0.001), v.maxValue(86400)),
    index: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  }),
  byteCount: v.picklist(['wire', 'payload']),
  interfaces: v.pipe(
    v.array(v.object({ name, received: count, dropped: count, ifDropped: count, countedElsewhere: count })),
    v.maxLength(4096),
  ),
  decode: v.object({
    frames: count,
    bytes: count,
    firstTime: v.nullable(time),
    lastTime: v.nullable(time),
  }),
  vms: v.pipe(v.array(v.object({ name, mac: v.string(), interface: v.string() })), v.maxLength(65536)),
  arp: v.pipe(v.array(v.tuple([v.string(), v.string()])), v.maxLength(65536)),
  announcements: v.optional(
    v.pipe(v.array(v.tuple([v.picklist(['rarp', 'garp']), v.string(), time])), v.maxLength(4096)),
  ),
  endpoints: v.array(v.unknown()),
  flows: v.array(v.unknown()),
});

const isCount = (x: unknown) => typeof x === 'number' && x >= 0 && x <= Number.MAX_SAFE_INTEGER;
const isOverlay = (x: unknown) => x === null || (Number.isInteger(x) && (x as number) >= 0);

/**
 * A window document from the network or a file, checked before any of it is counted: a bad document is
 * refused whole with the first problem named, never half-added.
 */
export function readWindow(input: unknown): WindowDocument {
  const parsed = v.safeParse(header, input);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const path = (issue.path ?? []).map((p) => String(p.key)).join('.');
    throw new Error(`${path === '' ? 'document' : path}: ${issue.message}`);
  }
  const doc = input as WindowDocument;
  doc.announcements ??= [];
  doc.endpoints.forEach((e, i) => {
    const ok =
      Array.isArray(e) &&
      e.length === 5 &&
      (e[0] === 0 || e[0] === 4 || e[0] === 6) &&
      typeof e[1] === 'string' &&
      (e[2] === null || typeof e[2] === 'string') &&
      isOverlay(e[3]) &&
      isOverlay(e[4]);
    if (!ok) throw new Error(`endpoints.${i}: not [version, address, mac, vlan, vni]`);
  });
  const n = doc.endpoints.length;
  doc.flows.forEach((f, i) => {
    const ok =
      Array.isArray(f) &&
      f.length === 5 &&
      Number.isInteger(f[0]) &&
      f[0] >= 0 &&
      f[0] < n &&
      Number.isInteger(f[1]) &&
      f[1] >= 0 &&
      f[1] < n &&
      isCount(f[2]) &&
      isCount(f[3]) &&
      Number.isInteger(f[4]);
    if (!ok)
      throw new Error(`flows.${i}: not [sender, receiver, bytes, packets, flags] with endpoints below ${n}`);
  });
  return doc;
}
