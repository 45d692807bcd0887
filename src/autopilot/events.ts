import * as v from 'valibot';
import { UserError } from '../errors.js';
import { cloudSchema, type Inventory } from '../inventory/schema.js';
import { firstIssue } from '../schema-issue.js';

/** A time: seconds since the epoch, or an ISO 8601 string. */
const time = v.union([
  v.pipe(v.number(), v.finite(), v.minValue(0)),
  v.pipe(
    v.string(),
    v.check((s) => Number.isFinite(Date.parse(s)), 'is not an ISO 8601 time'),
    v.transform((s) => Date.parse(s) / 1000),
  ),
]);
const cloudName = v.pipe(v.string(), v.minLength(1));

const eventSchema = v.variant('type', [
  v.strictObject({
    type: v.literal('price'),
    time,
    cloud: cloudName,
    compute: v.optional(cloudSchema.entries.compute),
    egress: v.optional(cloudSchema.entries.egress),
  }),
  v.strictObject({
    type: v.literal('capacity'),
    time,
    cloud: cloudName,
    capacity: cloudSchema.entries.capacity,
  }),
  v.strictObject({ type: v.picklist(['drain', 'undrain']), time, cloud: cloudName }),
  /** A spot VM's termination notice: it must be running elsewhere before the deadline. */
  v.strictObject({ type: v.literal('terminate'), time, vm: v.string(), deadline: time }),
  v.strictObject({ type: v.picklist(['pin', 'unpin']), time, vm: v.string() }),
]);

export type AutopilotEvent = v.InferOutput<typeof eventSchema>;

/** A termination notice still to be honoured: `vm` must leave `cloud` before `deadline`. */
export interface Notice {
  vm: string;
  cloud: string;
  time: number;
  deadline: number;
}

/**
 * The events of one source's text: a JSON array, one JSON object, or JSON lines. A bad event is a
 * UserError naming `where`, its line and the field.
 */
export function parseEvents(text: string, where: string): AutopilotEvent[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const items: [unknown, string][] = [];
  if (trimmed.startsWith('[')) {
    const all = parseJson(trimmed, where);
    if (!Array.isArray(all)) throw new UserError('events_invalid', `${where}: expected an array of events`);
    all.forEach((e, i) => {
      items.push([e, `${where}: event ${i + 1}`]);
    });
  } else
    text.split('\n').forEach((line, i) => {
      if (line.trim() !== '') items.push([parseJson(line, `${where}:${i + 1}`), `${where}:${i + 1}`]);
    });
  return items.map(([item, at]) => {
    const r = v.safeParse(eventSchema, item);
    if (!r.success) throw new UserError('events_invalid', `${at}: ${firstIssue(r.issues)}`);
    return r.output;
  });
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError('events_invalid', `${where}: not JSON (${(err as Error).message})`);
  }
}

/**
 * The spec as the events up to `now` leave it (prices, capacities, drained clouds, pins), and the
 * termination notices among them. `cloudAt(vm, time)` says where a VM ran at a time: a notice holds
 * for the cloud the VM was in when it came. An event naming a cloud or VM the spec lacks is an error.
 */
export function applyEvents(
  spec: Inventory,
  events: AutopilotEvent[],
  now: number,
  cloudAt: (vm: string, time: number) => string | undefined,
): { spec: Inventory; notices: Notice[] } {
  const clouds = new Map(spec.clouds.map((c) => [c.name, { ...c }]));
  const vms = new Map(spec.vms.map((vm) => [vm.name, { ...vm }]));
  const drained = new Set<string>();
  const notices: Notice[] = [];
  const past = events.filter((e) => e.time <= now).sort((a, b) => a.time - b.time);
  for (const e of past) {
    if ('cloud' in e && !clouds.has(e.cloud))
      throw new UserError(
        'unknown_cloud',
        `a ${e.type} event names cloud "${e.cloud}", which the clouds spec lacks`,
      );
    if ('vm' in e && !vms.has(e.vm))
      throw new UserError('unknown_vm', `a ${e.type} event names VM "${e.vm}", which the clouds spec lacks`);
    if (e.type === 'price') {
      const c = clouds.get(e.cloud) as (typeof spec.clouds)[number];
      clouds.set(e.cloud, {
        ...c,
        ...(e.compute === undefined ? {} : { compute: { ...c.compute, ...e.compute } }),
        ...(e.egress === undefined ? {} : { egress: { ...c.egress, ...e.egress } }),
      });
    } else if (e.type === 'capacity') {
      const c = clouds.get(e.cloud) as (typeof spec.clouds)[number];
      clouds.set(e.cloud, { ...c, capacity: e.capacity });
    } else if (e.type === 'drain') drained.add(e.cloud);
    else if (e.type === 'undrain') drained.delete(e.cloud);
    else if (e.type === 'pin' || e.type === 'unpin') {
      const vm = vms.get(e.vm) as (typeof spec.vms)[number];
      vms.set(e.vm, { ...vm, pinned: e.type === 'pin' });
    } else if (e.type === 'terminate') {
      const cloud = cloudAt(e.vm, e.time);
      if (cloud !== undefined) notices.push({ vm: e.vm, cloud, time: e.time, deadline: e.deadline });
    }
  }
  for (const [name, vm] of vms)
    if (drained.size > 0)
      vms.set(name, { ...vm, deniedClouds: [...new Set([...(vm.deniedClouds ?? []), ...drained])] });
  return { spec: { ...spec, clouds: [...clouds.values()], vms: [...vms.values()] }, notices };
}
