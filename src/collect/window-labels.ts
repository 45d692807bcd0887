import { Attribution, type Endpoint } from '../../capture/attribution.js';
import { countedHere } from '../../capture/counting-host.js';
import { FLOW_FLAG, type WindowDocument } from '../../capture/window-document.js';
import { knownVms } from '../inventory/load-inventory.js';
import type { Inventory } from '../inventory/schema.js';
import type { LabelledWindow } from '../store/window-store.js';
import { endpointSide } from './aggregator.js';
import { learnFromWindow } from './learn-window.js';

/**
 * Names each flow row of a window with its VMs and clouds, from the inventory and what the windows this
 * process saw taught it (each collector's VMs, ARP), and marks the rows another hypervisor's window counts:
 * the aggregator's rule (a direction counts at its sender's host, when that host is captured) with the
 * hosts this process has seen windows from.
 */
export class WindowLabeller {
  private readonly attribution: Attribution;
  private readonly hostCloud: Map<string, string | undefined>;
  private readonly captured = new Set<string>();

  constructor(inventory: Inventory | undefined) {
    this.attribution = new Attribution(inventory === undefined ? undefined : knownVms(inventory));
    this.hostCloud = new Map((inventory?.hosts ?? []).map((h) => [h.name, h.cloud]));
  }

  /** Hosts known to be captured before any of their windows came here (those the store holds). */
  addCapturedHosts(hosts: readonly string[]): void {
    for (const h of hosts) this.captured.add(h);
  }

  /** A batch's hosts are all taken as captured before any of its windows is labelled. */
  labelAll(docs: readonly WindowDocument[]): LabelledWindow[] {
    for (const doc of docs) this.captured.add(doc.host);
    return docs.map((doc) => this.label(doc));
  }

  private label(doc: WindowDocument): LabelledWindow {
    learnFromWindow(this.attribution, doc, (h) => this.hostCloud.get(h));
    const resolved = doc.endpoints.map((e) => this.attribution.resolve(endpointSide(e)));
    const counted = new Uint8Array(doc.flows.length);
    doc.flows.forEach(([s, d, , , flags], row) => {
      const group = (flags & (FLOW_FLAG.broadcast | FLOW_FLAG.multicast)) !== 0;
      const srcHost = (resolved[s] as Endpoint).vm?.host;
      const dstHost = group ? undefined : (resolved[d] as Endpoint).vm?.host;
      counted[row] = countedHere(doc.host, srcHost, dstHost, this.captured) ? 1 : 0;
    });
    return { doc, endpoints: resolved.map((e) => ({ id: e.id, cloud: this.cloudOf(e) })), counted };
  }

  private cloudOf(e: Endpoint): string {
    return e.vm?.cloud ?? (e.vm?.host === undefined ? undefined : this.hostCloud.get(e.vm.host)) ?? '';
  }
}
