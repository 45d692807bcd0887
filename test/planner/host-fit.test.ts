import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitHosts, type HostCapacity, type HostedVm } from '../../planner/host-fit.js';

const INF = Number.POSITIVE_INFINITY;
const host = (name: string, cloud: number, vcpus = INF, memoryGiB = INF): HostCapacity => ({
  name,
  cloud,
  vcpus,
  memoryGiB,
});
const vm = (vcpus: number, memoryGiB: number, current: number, onHost = -1): HostedVm => ({
  vcpus,
  memoryGiB,
  current,
  host: onHost,
});

describe('fitting VMs onto hosts', () => {
  it('packs the largest first, each onto the host it leaves tightest', () => {
    // Cloud 1: hosts of 8 and 6 vCPUs. Arrivals of 5, 4 and 3: best fit puts 5 on the 6 (1 left),
    // 4 on the 8 (4 left), 3 on the 8 (1 left). First fit in the given order would strand the 5.
    const hosts = [host('big', 1, 8, 64), host('small', 1, 6, 64)];
    const vms = [vm(3, 1, 0), vm(4, 1, 0), vm(5, 1, 0)];
    const fit = fitHosts(vms, hosts, [1, 1, 1]);
    assert.deepEqual([...fit.host], [0, 0, 1]);
    assert.deepEqual(fit.unfit, []);
    assert.deepEqual(
      fit.free.map((f) => f.vcpus),
      [1, 1],
    );
  });

  it('counts VMs that stay, frees the hosts of those that leave, and names what does not fit', () => {
    const hosts = [host('a1', 0, 4, 16), host('b1', 1, 4, 16), host('b2', 1, 4, 8)];
    const vms = [
      vm(3, 4, 1, 1), // stays on b1: 1 vCPU left there
      vm(4, 4, 1, 2), // leaves b2 for cloud 0: b2 is free again
      vm(4, 12, 0, 0), // arrives in cloud 1: b2 has the vCPUs but not the memory, b1 neither
      vm(2, 8, 0), // arrives in cloud 1: fits b2 exactly
    ];
    const fit = fitHosts(vms, hosts, [1, 0, 1, 1]);
    assert.equal(fit.host[0], 1);
    assert.equal(fit.host[1], 0, 'the VM leaving b2 lands on a1, freed by the VM that leaves it');
    assert.deepEqual(fit.unfit, [2]);
    assert.equal(fit.host[2], -1);
    assert.equal(fit.host[3], 2);
  });

  it('shares arrivals out among hosts that list no capacity, and leaves clouds without hosts alone', () => {
    const hosts = [host('h1', 1), host('h2', 1)];
    const vms = [vm(1, 1, 0), vm(1, 1, 0), vm(1, 1, 0), vm(1, 1, 0), vm(1, 1, 1)];
    const fit = fitHosts(vms, hosts, [1, 1, 1, 1, 2]);
    assert.deepEqual([...fit.host], [0, 1, 0, 1, -1]);
    assert.deepEqual(fit.unfit, []);
  });

  it('never overfills a host, on random instances', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 200; round++) {
      const hosts = Array.from({ length: 1 + Math.floor(rand() * 5) }, (_, i) =>
        host(`h${i}`, Math.floor(rand() * 2), 1 + Math.floor(rand() * 16), 1 + Math.floor(rand() * 64)),
      );
      const vms = Array.from({ length: Math.floor(rand() * 12) }, () =>
        vm(1 + Math.floor(rand() * 8), 1 + Math.floor(rand() * 32), 2),
      );
      const placement = vms.map(() => Math.floor(rand() * 2));
      const fit = fitHosts(vms, hosts, placement);
      hosts.forEach((h, i) => {
        const on = vms.filter((_, v) => fit.host[v] === i);
        assert.ok(on.reduce((s, x) => s + x.vcpus, 0) <= h.vcpus, `round ${round}: ${h.name} vCPUs`);
        assert.ok(on.reduce((s, x) => s + x.memoryGiB, 0) <= h.memoryGiB, `round ${round}: ${h.name} memory`);
        assert.ok(vms.every((_, v) => fit.host[v] !== i || placement[v] === h.cloud));
      });
      vms.forEach((x, v) => {
        if (fit.host[v] !== -1) return;
        // Unfit only when no host of its cloud had room left for it.
        const room = hosts.some(
          (h, i) =>
            h.cloud === placement[v] &&
            (fit.free[i]?.vcpus ?? 0) >= x.vcpus &&
            (fit.free[i]?.memoryGiB ?? 0) >= x.memoryGiB,
        );
        assert.ok(!room, `round ${round}: VM ${v} was left out though a host had room`);
        assert.equal(
          fit.unfit.includes(v),
          hosts.some((h) => h.cloud === placement[v]),
        );
      });
    }
  });
});
