import { dirname, resolve } from 'node:path';
import * as v from 'valibot';
import { UserError } from '../errors.js';
import type { Inventory } from '../inventory/schema.js';
import { readText } from '../read-text.js';
import { type ContentSketch, SKETCH_SCHEMA } from './content-sketch.js';

const sketchSchema = v.looseObject({
  schema: v.literal(SKETCH_SCHEMA),
  name: v.string(),
  source: v.string(),
  pages: v.number(),
  zeroPages: v.number(),
  k: v.pipe(v.number(), v.integer(), v.minValue(1)),
  hashes: v.array(v.pipe(v.string(), v.regex(/^[0-9a-f]{16}$/))),
});

/** The sketches the VMs of an inventory file name (vms[].sketch), paths relative to that file. */
export async function readSketches(inventory: Inventory, file: string): Promise<Map<string, ContentSketch>> {
  const sketches = new Map<string, ContentSketch>();
  for (const vm of inventory.vms) {
    if (vm.sketch === undefined) continue;
    const path = resolve(dirname(file), vm.sketch);
    const text = await readText(path, 'sketch_unreadable', `VM ${vm.name}'s sketch`);
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      throw new UserError(
        'sketch_invalid',
        `VM ${vm.name}: its sketch ${path} is not JSON (${(err as Error).message})`,
      );
    }
    const parsed = v.safeParse(sketchSchema, data);
    if (!parsed.success)
      throw new UserError(
        'sketch_invalid',
        `VM ${vm.name}: ${path} is not a sketch from sky-plan fingerprint (${parsed.issues[0].message})`,
      );
    sketches.set(vm.name, parsed.output as ContentSketch);
  }
  return sketches;
}
