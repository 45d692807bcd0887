import { Decoder } from './dist/capture/decode/decoder.js';
import { readCapture } from './dist/capture/files/read-capture.js';
import { FlowTable } from './dist/capture/flow-table.js';

const path = '/tmp/bench/cluster.pcap';
for (const stage of ['read', 'decode', 'flows', 'read', 'decode', 'flows']) {
  const d = new Decoder();
  const ft = new FlowTable();
  let n = 0;
  const sink =
    stage === 'read'
      ? {
          frame() {
            n++;
          },
        }
      : stage === 'decode'
        ? {
            frame(b, o, c, l, ts, lt) {
              d.decode(b, o, c, l, lt);
              n++;
            },
          }
        : {
            frame(b, o, c, l, ts, lt) {
              const pk = d.decode(b, o, c, l, lt);
              if (pk.account) ft.add(pk, ts);
              n++;
            },
          };
  const t = performance.now();
  await readCapture(path, sink);
  const ms = performance.now() - t;
  console.log(stage, ms.toFixed(0), 'ms', (n / ms / 1000).toFixed(2), 'Mpps');
}
