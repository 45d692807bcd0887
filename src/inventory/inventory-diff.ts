import type { InventoryInput } from './schema.js';

type VmInput = NonNullable<InventoryInput['vms']>[number];

/**
 * What changed between two inventories, a line per VM: `+ name` added, `- name` removed, `~ name: ...`
 * with each field that differs (a value's old and new form when it is a number or a string).
 */
export function inventoryDiff(before: VmInput[], after: VmInput[]): string[] {
  const old = new Map(before.map((vm) => [vm.name, vm]));
  const now = new Map(after.map((vm) => [vm.name, vm]));
  const lines: string[] = [];
  for (const name of [...new Set([...old.keys(), ...now.keys()])].sort()) {
    const a = old.get(name);
    const b = now.get(name);
    if (a === undefined) lines.push(`+ ${name}`);
    else if (b === undefined) lines.push(`- ${name}`);
    else {
      const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
      const changed = fields.flatMap((key) => {
        const x = (a as Record<string, unknown>)[key];
        const y = (b as Record<string, unknown>)[key];
        if (JSON.stringify(x) === JSON.stringify(y)) return [];
        const plain = (v: unknown) => typeof v === 'string' || typeof v === 'number';
        return [plain(x) && plain(y) ? `${key} ${x} → ${y}` : `${key} changed`];
      });
      if (changed.length > 0) lines.push(`~ ${name}: ${changed.join('; ')}`);
    }
  }
  return lines;
}
