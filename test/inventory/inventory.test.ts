import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { UserError } from '../../src/errors.js';
import { loadInventory, parseInventory } from '../../src/inventory/load-inventory.js';

async function rejects(text: string, pattern: RegExp): Promise<void> {
  await assert.rejects(parseInventory(text, 'inv.yaml'), (e: UserError) => {
    assert.equal(e.code, 'inventory_invalid');
    assert.match(e.message, pattern);
    return true;
  });
}

describe('inventory', () => {
  it('refuses a mapping used as a key, at its line, without a warning (found by fuzzing)', async () => {
    const warnings: string[] = [];
    const listen = (w: Error) => warnings.push(w.message);
    process.on('warning', listen);
    try {
      await assert.rejects(parseInventory('vms:\n  ? {a: 1}\n  : x\n', 'inv.yaml'), (e: UserError) => {
        assert.equal(e.code, 'inventory_invalid');
        assert.match(e.message, /inv\.yaml:2:5: a key must be a plain value/);
        return true;
      });
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(warnings, []);
    } finally {
      process.off('warning', listen);
    }
  });

  it('accepts the minimal form from the analyze issue as is', async () => {
    const inv = await parseInventory(
      `clouds: [{ name: rennes }, { name: chicago }]
vms:
  - { name: h0, cloud: rennes, host: hv1, vcpus: 2, memoryGiB: 4,
      nics: [{ mac: "02:00:00:00:00:10", ips: ["198.51.100.10"] }] }
`,
      'inv.yaml',
    );
    assert.equal(inv.vms[0]?.name, 'h0');
    assert.equal(inv.vms[0]?.nics[0]?.mac, '02:00:00:00:00:10');
  });

  it("accepts the planner issue's minimal clouds spec and JSON", async () => {
    const inv = await parseInventory(
      `clouds:
  - { name: a, capacity: { vms: 12875 }, egress: { default: 0.02 } }   # $/GB to any other cloud
  - { name: b, capacity: { vms: 12875 }, egress: { default: 0.02 } }
`,
      'clouds.yaml',
    );
    assert.equal(inv.clouds[1]?.egress?.default, 0.02);
    assert.equal((await parseInventory('{"vms":[{"name":"x"}]}', 'i.json')).vms[0]?.name, 'x');
  });

  it('points at the line and field of a bad value', async () => {
    await rejects(
      `vms:
  - name: a
    nics:
      - mac: "02:00:zz:00:00:10"
`,
      /^invalid inventory: inv\.yaml:4:14: vms\[0\]\.nics\[0\]\.mac: not a MAC address/,
    );
    await rejects(
      'vms:\n  - name: a\n    nics: [{ ips: ["10.0.0.300"] }]\n',
      /inv\.yaml:3:20: vms\[0\]\.nics\[0\]\.ips\[0\]: not an IPv4 or IPv6 address/,
    );
    await rejects(
      'vms:\n  - name: a\n    memoryGb: 4\n',
      /inv\.yaml:3:\d+: vms\[0\]: unknown field memoryGb/,
    );
    await rejects('[1, 2]\n', /inv\.yaml:1:1: the top level must be a mapping/);
    await rejects('vms:\n  - cloud: x\n', /inv\.yaml:2:5: vms\[0\]\.name: missing required field/);
    await rejects('vms:\n  - name: a\n    vcpus: -2\n', /inv\.yaml:3:12: vms\[0\]\.vcpus/);
  });

  it('checks references and uniqueness', async () => {
    await rejects(
      'clouds: [{ name: a }]\nvms:\n  - { name: x, cloud: b }\n',
      /inv\.yaml:3:23: vms\[0\]\.cloud: unknown cloud "b" \(clouds: a\)/,
    );
    await rejects('vms:\n  - { name: x }\n  - { name: x }\n', /vms\[1\]\.name: duplicate VM "x"/);
    await rejects(
      'vms:\n  - { name: x, nics: [{ mac: "02:00:00:00:00:01" }] }\n  - { name: y, nics: [{ mac: "02-00-00-00-00-01" }] }\n',
      /MAC 02-00-00-00-00-01 is also on VM "x"/,
    );
    await rejects(
      'vms:\n  - { name: x, nics: [{ ips: ["fd00::1"] }] }\n  - { name: y, nics: [{ ips: ["fd00:0::1"] }] }\n',
      /IP fd00:0::1 is also on VM "x"/,
    );
    // The same IP in two overlays is two VMs, not a conflict.
    await parseInventory(
      'vms:\n  - { name: x, nics: [{ ips: ["10.0.0.1"], vni: 1 }] }\n  - { name: y, nics: [{ ips: ["10.0.0.1"], vni: 2 }] }\n',
      'i',
    );
  });

  it('reports YAML syntax errors with their position, and missing files', async () => {
    await rejects('vms: [\n  { name: a\n', /inv\.yaml:\d+:\d+: /);
    await assert.rejects(loadInventory('/nonexistent.yaml'), { code: 'inventory_unreadable' });
  });
});
