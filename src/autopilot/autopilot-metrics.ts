import { createServer, type Server } from 'node:http';
import type { Decision } from './policy.js';

/**
 * What autopilot has done, for `--listen`: the last decision as JSON (GET /v1/status) and counters in
 * Prometheus's text format (GET /metrics): rounds by action, moves, bytes moved, the last decision's
 * latency, and the cross-cloud traffic per cloud pair as observed in the window and as the last plan
 * predicts it.
 */
export function autopilotMetrics() {
  const rounds = new Map<string, number>();
  let moves = 0;
  let bytesMoved = 0;
  let last: { decision: Omit<Decision, 'plan'>; seconds: number } | undefined;
  const record = (d: Decision, seconds: number) => {
    rounds.set(d.action, (rounds.get(d.action) ?? 0) + 1);
    if (d.action !== 'hold') {
      moves += d.moves.length;
      bytesMoved += d.migrationBytes;
    }
    const { plan: _plan, ...decision } = d;
    last = { decision, seconds };
  };
  const text = (): string => {
    const lines = [
      '# HELP skyplan_autopilot_rounds_total Rounds decided, by action.',
      '# TYPE skyplan_autopilot_rounds_total counter',
      ...[...rounds].map(([action, n]) => `skyplan_autopilot_rounds_total{action="${action}"} ${n}`),
      '# HELP skyplan_autopilot_moves_total Migrations decided (dry runs included).',
      '# TYPE skyplan_autopilot_moves_total counter',
      `skyplan_autopilot_moves_total ${moves}`,
      '# HELP skyplan_autopilot_migration_bytes_total WAN bytes of the decided migrations.',
      '# TYPE skyplan_autopilot_migration_bytes_total counter',
      `skyplan_autopilot_migration_bytes_total ${bytesMoved}`,
      '# HELP skyplan_autopilot_decision_seconds How long the last round took to decide.',
      '# TYPE skyplan_autopilot_decision_seconds gauge',
      `skyplan_autopilot_decision_seconds ${last?.seconds ?? 0}`,
      '# HELP skyplan_autopilot_cross_cloud_bytes_per_second Cross-cloud traffic per pair: observed in the window, predicted after the last plan.',
      '# TYPE skyplan_autopilot_cross_cloud_bytes_per_second gauge',
    ];
    for (const [kind, pairs] of [
      ['observed', last?.decision.crossCloudNow ?? []],
      ['predicted', last?.decision.crossCloudAfter ?? []],
    ] as const)
      for (const p of pairs)
        lines.push(
          `skyplan_autopilot_cross_cloud_bytes_per_second{kind="${kind}",from="${p.from}",to="${p.to}"} ${p.bytesPerSecond}`,
        );
    return `${lines.join('\n')}\n`;
  };
  const listen = (address: { host: string; port: number }): Promise<Server> =>
    new Promise((resolve, reject) => {
      const server = createServer((req, res) => {
        const path = (req.url ?? '').split('?')[0];
        if (req.method === 'GET' && path === '/metrics') {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
          return res.end(text());
        }
        if (req.method === 'GET' && path === '/v1/status') {
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify(last ?? { decision: null }));
        }
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'try GET /v1/status or GET /metrics' }));
      });
      server.once('error', reject);
      server.listen(address.port, address.host, () => resolve(server));
    });
  return { record, text, listen };
}
