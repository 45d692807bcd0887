import * as v from 'valibot';
import { canonicalIp, parseMac } from '../../capture/addresses.js';
import type { KnownVm } from '../../capture/attribution.js';
import { UserError } from '../errors.js';
import { readText } from '../read-text.js';
import { formatPath, issuePath } from '../schema-issue.js';
import { type Inventory, inventorySchema } from './schema.js';

/**
 * Reads an inventory or clouds spec (YAML or JSON: YAML 1.2 parses both) and validates it. Every error
 * names the file, line and column, and the field path, e.g. `inv.yaml:7:14: vms[2].nics[0].mac: not a MAC address`.
 */
export async function loadInventory(path: string): Promise<Inventory> {
  return parseInventory(await readText(path, 'inventory_unreadable', 'the inventory'), path);
}

export async function parseInventory(text: string, path: string): Promise<Inventory> {
  // Inventories exported by tools are often JSON, and big: JSON.parse is ~20x faster than a YAML parse.
  // Only when such a file is invalid is it parsed again as YAML, to point at the line.
  if (/^\s*[{[]/.test(text)) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
    const parsed = data === undefined ? undefined : v.safeParse(inventorySchema, data);
    if (parsed?.success) {
      try {
        checkReferences(parsed.output, () => path);
        return parsed.output;
      } catch {
        // Reported again below, with its line.
      }
    }
  }
  return parseYamlInventory(text, path);
}

async function parseYamlInventory(text: string, path: string): Promise<Inventory> {
  // Loaded on demand: JSON inventories and runs without an inventory never pay for the YAML parser.
  const { isCollection, isNode, LineCounter, parseDocument, visit } = await import('yaml');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax !== undefined) {
    const pos = lines.linePos(syntax.pos[0]);
    throw invalid(`${path}:${pos.line}:${pos.col}: ${syntax.message.split('\n')[0]}`);
  }
  const at = (fieldPath: readonly PropertyKey[]): string => {
    for (let n = fieldPath.length; n >= 0; n--) {
      const node = doc.getIn(fieldPath.slice(0, n) as unknown[], true);
      if (isNode(node) && node.range) {
        const pos = lines.linePos(node.range[0]);
        return `${path}:${pos.line}:${pos.col}`;
      }
    }
    return path;
  };
  // A mapping or list as a key has no JavaScript form (the library would stringify it, with a warning).
  let collectionKey: string | undefined;
  visit(doc, {
    Pair(_key, pair) {
      if (!isCollection(pair.key)) return undefined;
      const pos = lines.linePos(pair.key.range?.[0] ?? 0);
      collectionKey = `${path}:${pos.line}:${pos.col}`;
      return visit.BREAK;
    },
  });
  if (collectionKey !== undefined)
    throw invalid(`${collectionKey}: a key must be a plain value, not a mapping or list`);
  let data: unknown;
  try {
    data = doc.toJS() ?? {};
  } catch (err) {
    // The YAML library refuses alias expansion past its limit (a "billion laughs" document).
    let where = path;
    visit(doc, {
      Alias(_key, node) {
        if (node.range == null) return undefined;
        const pos = lines.linePos(node.range[0]);
        where = `${path}:${pos.line}:${pos.col}`;
        return visit.BREAK;
      },
    });
    throw invalid(`${where}: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw invalid(
      `${path}:1:1: the top level must be a mapping with clouds:, hosts:, vms:, images: or constraints:`,
    );
  }
  const parsed = v.safeParse(inventorySchema, data);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const path = issuePath(issue);
    if (issue.type === 'strict_object' && issue.input !== undefined) {
      // The path ends at the unknown key: point at its line, name the object that holds it.
      throw invalid(
        `${at(path)}: ${formatPath(path.slice(0, -1))}: unknown field ${String(path[path.length - 1])}`,
      );
    }
    throw invalid(`${at(path)}: ${formatPath(path)}: ${describe(issue)}`);
  }
  checkReferences(parsed.output, at);
  return parsed.output;
}

function invalid(message: string): UserError {
  return new UserError('inventory_invalid', `invalid inventory: ${message}`);
}

function describe(issue: v.BaseIssue<unknown>): string {
  if (issue.input === undefined) return 'missing required field';
  if (issue.kind === 'validation' && issue.type === 'check') return issue.message;
  return `expected ${issue.expected}, got ${issue.received}`;
}

/** Cross-field rules: names are unique, references resolve, a MAC or an IP belongs to one VM per overlay. */
function checkReferences(inv: Inventory, at: (path: readonly PropertyKey[]) => string): void {
  const fail = (path: PropertyKey[], msg: string): never => {
    throw invalid(`${at(path)}: ${formatPath(path)}: ${msg}`);
  };
  const clouds = new Set<string>();
  inv.clouds.forEach((c, i) => {
    if (clouds.has(c.name)) fail(['clouds', i, 'name'], `duplicate cloud "${c.name}"`);
    clouds.add(c.name);
  });
  const knownCloud = (name: string, path: PropertyKey[]) => {
    if (clouds.size > 0 && !clouds.has(name))
      fail(path, `unknown cloud "${name}" (clouds: ${[...clouds].join(', ')})`);
  };
  inv.clouds.forEach((c, i) => {
    for (const other of Object.keys(c.egress?.to ?? {}))
      knownCloud(other, ['clouds', i, 'egress', 'to', other]);
  });
  const hosts = new Map<string, string | undefined>();
  inv.hosts.forEach((h, i) => {
    if (hosts.has(h.name)) fail(['hosts', i, 'name'], `duplicate host "${h.name}"`);
    if (h.cloud !== undefined) knownCloud(h.cloud, ['hosts', i, 'cloud']);
    hosts.set(h.name, h.cloud);
  });
  inv.images.forEach((img, i) => {
    for (const cloud of Object.keys(img.at ?? {})) knownCloud(cloud, ['images', i, 'at', cloud]);
  });
  const names = new Set<string>();
  const macs = new Map<number, string>();
  const ips = new Map<string, string>();
  const taps = new Map<string, string>();
  inv.vms.forEach((vm, i) => {
    if (names.has(vm.name)) fail(['vms', i, 'name'], `duplicate VM "${vm.name}"`);
    names.add(vm.name);
    if (vm.cloud !== undefined) knownCloud(vm.cloud, ['vms', i, 'cloud']);
    if (vm.host !== undefined && hosts.size > 0 && !hosts.has(vm.host))
      fail(['vms', i, 'host'], `unknown host "${vm.host}"`);
    const hostCloud = vm.host === undefined ? undefined : hosts.get(vm.host);
    if (hostCloud !== undefined && vm.cloud !== undefined && hostCloud !== vm.cloud) {
      fail(['vms', i, 'cloud'], `VM is in cloud "${vm.cloud}" but its host ${vm.host} is in "${hostCloud}"`);
    }
    const devices = new Set<string>();
    vm.disks.forEach((disk, j) => {
      if (devices.has(disk.device)) fail(['vms', i, 'disks', j, 'device'], `duplicate disk "${disk.device}"`);
      devices.add(disk.device);
    });
    vm.nics.forEach((nic, j) => {
      if (nic.tap !== undefined) {
        if (vm.host === undefined)
          fail(['vms', i, 'nics', j, 'tap'], "a tap names a port on the VM's host: give the VM a host");
        const owner = taps.get(`${vm.host}|${nic.tap}`);
        if (owner !== undefined)
          fail(['vms', i, 'nics', j, 'tap'], `tap ${nic.tap} on host ${vm.host} is also VM "${owner}"'s`);
        taps.set(`${vm.host}|${nic.tap}`, vm.name);
      }
      const mac = nic.mac === undefined ? undefined : parseMac(nic.mac);
      if (mac !== undefined) {
        const owner = macs.get(mac);
        if (owner !== undefined)
          fail(['vms', i, 'nics', j, 'mac'], `MAC ${nic.mac} is also on VM "${owner}"`);
        macs.set(mac, vm.name);
      }
      (nic.ips ?? []).forEach((ip, k) => {
        const key = `${nic.vni ?? nic.vlan ?? '*'}|${canonicalIp(ip)}`;
        const owner = ips.get(key);
        if (owner !== undefined && owner !== vm.name) {
          fail(['vms', i, 'nics', j, 'ips', k], `IP ${ip} is also on VM "${owner}" in the same overlay`);
        }
        ips.set(key, vm.name);
      });
    });
  });
}

/** The VMs as attribution sees them, with a VM's cloud taken from its host when only the host says it. */
export function knownVms(inv: Inventory): KnownVm[] {
  const hostCloud = new Map(inv.hosts.map((h) => [h.name, h.cloud]));
  return inv.vms.map((vm) => ({
    ...vm,
    cloud: vm.cloud ?? (vm.host === undefined ? undefined : hostCloud.get(vm.host)),
  }));
}
