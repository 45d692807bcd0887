import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { buildScenario, type Scenario, type ScenarioSize, scenarioInventory } from './cluster-scenario.js';
import { generateTraffic } from './cluster-traffic.js';
import { PcapWriter } from './pcap-writer.js';

export interface WrittenCluster {
  scenario: Scenario;
  inventoryPath: string;
  /** One capture of every packet once, or one per hypervisor (host name → path). */
  captures: { path: string; host?: string }[];
  frames: number;
  bytes: number;
}

/**
 * Writes the synthetic cluster's captures and inventory into `dir`. Deterministic: the same size, seed and
 * MSS give byte-identical files, which the golden tests rely on.
 */
export function writeCluster(
  dir: string,
  size: ScenarioSize,
  opts: { seed?: number; mss?: number; perHost?: boolean; name?: string } = {},
): WrittenCluster {
  mkdirSync(dir, { recursive: true });
  const scenario = buildScenario(size);
  const inventoryPath = join(dir, 'inventory.yaml');
  writeFileSync(
    inventoryPath,
    `# Inventory of the synthetic multi-cloud cluster (src/synth). Egress prices in $/GB.\n${stringify(scenarioInventory(scenario), { flowCollectionPadding: false })}`,
  );
  const traffic = { seed: opts.seed ?? 1, mss: opts.mss ?? 1448 };
  if (opts.perHost) {
    const writers = new Map(scenario.hosts.map((h) => [h.name, new PcapWriter(join(dir, `${h.name}.pcap`))]));
    generateTraffic(scenario, { perHost: writers }, traffic);
    let frames = 0;
    let bytes = 0;
    for (const w of writers.values()) {
      w.close();
      frames += w.frames;
      bytes += w.bytes;
    }
    const captures = [...writers.keys()].map((host) => ({ path: join(dir, `${host}.pcap`), host }));
    return { scenario, inventoryPath, captures, frames, bytes };
  }
  const path = join(dir, `${opts.name ?? 'cluster'}.pcap`);
  const writer = new PcapWriter(path);
  generateTraffic(scenario, { single: writer }, traffic);
  writer.close();
  return { scenario, inventoryPath, captures: [{ path }], frames: writer.frames, bytes: writer.bytes };
}
