import { readFile } from 'node:fs/promises';
import * as v from 'valibot';
import { UserError } from '../errors.js';
import { formatPath } from '../inventory/load-inventory.js';
import { PLAN_SCHEMA, type PlanDocument } from './plan-document.js';

const money = v.number();
const cost = v.looseObject({
  egress: money,
  internet: money,
  compute: money,
  migration: money,
  total: money,
});
const metrics = v.looseObject({
  cost,
  crossCloud: v.array(v.looseObject({ from: v.string(), to: v.string(), bytesPerSecond: v.number() })),
});
const peer = v.looseObject({ peer: v.string(), bytesPerSecond: v.number() });
const planSchema = v.looseObject({
  schema: v.literal(PLAN_SCHEMA),
  horizonSeconds: v.number(),
  solver: v.looseObject({ name: v.string(), optimal: v.boolean(), gap: v.nullable(v.number()) }),
  placement: v.record(v.string(), v.string()),
  moves: v.array(
    v.looseObject({
      vm: v.string(),
      from: v.string(),
      to: v.string(),
      wanBytes: v.number(),
      seconds: v.number(),
      cost: v.number(),
      bringsTogether: v.array(peer),
      separates: v.array(peer),
    }),
  ),
  before: metrics,
  after: metrics,
});

/** The parts of a sky-plan/plan@1 document that readers of a plan (the report) rely on. */
export type PlanView = Pick<PlanDocument, 'horizonSeconds' | 'placement'> & {
  solver: Pick<PlanDocument['solver'], 'name' | 'optimal' | 'gap'>;
  moves: PlanDocument['moves'];
  before: Pick<PlanDocument['before'], 'cost' | 'crossCloud'>;
  after: Pick<PlanDocument['after'], 'cost' | 'crossCloud'>;
};

export async function readPlan(path: string): Promise<PlanView> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new UserError(
      'plan_unreadable',
      `cannot read the plan ${path}: ${(err as Error).message}; expected the output of sky-plan plan --json`,
    );
  }
  const parsed = v.safeParse(planSchema, data);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const at = formatPath((issue.path ?? []).map((p) => p.key as PropertyKey));
    throw new UserError('plan_invalid', `invalid plan ${path}: ${at}: ${issue.message}`);
  }
  return parsed.output;
}
