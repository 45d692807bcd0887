import * as v from 'valibot';
import { UserError } from '../errors.js';
import { nameSchema } from '../inventory/names.js';
import { readText } from '../read-text.js';
import { firstIssue } from '../schema-issue.js';
import { PLAN_SCHEMA, type PlanDocument } from './plan-document.js';

const money = v.number();
const cost = v.looseObject({
  egress: money,
  internet: money,
  compute: money,
  migration: money,
  total: money,
});
const metricsEntries = {
  cost,
  crossCloud: v.array(v.looseObject({ from: v.string(), to: v.string(), bytesPerSecond: v.number() })),
};
const metrics = v.looseObject(metricsEntries);
const peer = v.looseObject({ peer: v.string(), bytesPerSecond: v.number() });
const move = {
  vm: nameSchema,
  from: nameSchema,
  to: nameSchema,
  /** Plans written before hosts were placed have neither. */
  fromHost: v.optional(v.nullable(nameSchema), null),
  toHost: v.optional(v.nullable(nameSchema), null),
  wanBytes: v.number(),
  seconds: v.number(),
  cost: v.number(),
  bringsTogether: v.array(peer),
  separates: v.array(peer),
};
/** Plans written before disks were counted have neither split: all of wanBytes was memory then. */
const bytesSplit = <
  T extends { wanBytes: number; memoryBytes?: number | undefined; diskBytes?: number | undefined },
>(
  m: T,
) => ({
  ...m,
  memoryBytes: m.memoryBytes ?? m.wanBytes - (m.diskBytes ?? 0),
  diskBytes: m.diskBytes ?? 0,
});
const split = { memoryBytes: v.optional(v.number()), diskBytes: v.optional(v.number()) };
const plan = {
  schema: v.literal(PLAN_SCHEMA),
  horizonSeconds: v.number(),
  solver: v.looseObject({ name: v.string(), optimal: v.boolean(), gap: v.nullable(v.number()) }),
  placement: v.record(nameSchema, nameSchema),
  moves: v.array(v.pipe(v.looseObject({ ...move, ...split }), v.transform(bytesSplit))),
  before: metrics,
  after: metrics,
};
const planSchema = v.looseObject(plan);
const limit = v.nullable(v.pipe(v.number(), v.minValue(0)));
/** What the executor needs on top: each VM's size and each cloud's capacity and bandwidth. */
const executableSchema = v.looseObject({
  ...plan,
  before: v.looseObject({
    ...metricsEntries,
    load: v.array(
      v.looseObject({ cloud: v.string(), vcpus: v.number(), memoryGiB: v.number(), vms: v.number() }),
    ),
  }),
  moves: v.array(
    v.pipe(
      v.looseObject({
        ...move,
        ...split,
        vcpus: v.pipe(v.number(), v.minValue(0)),
        memoryGiB: v.pipe(v.number(), v.minValue(0)),
        image: v.nullable(v.string()),
      }),
      v.transform(bytesSplit),
    ),
  ),
  sharedContent: v.optional(v.array(v.looseObject({ image: v.string(), to: v.string() }))),
  clouds: v.array(
    v.looseObject({
      name: nameSchema,
      capacity: v.looseObject({ vcpus: limit, memoryGiB: limit, vms: limit }),
      wanBytesPerSecond: v.record(v.string(), v.pipe(v.number(), v.gtValue(0))),
    }),
  ),
});

/** The parts of a sky-plan/plan@1 document that readers of a plan (the report) rely on. */
export type PlanView = Pick<PlanDocument, 'horizonSeconds' | 'placement'> & {
  solver: Pick<PlanDocument['solver'], 'name' | 'optimal' | 'gap'>;
  moves: Omit<PlanDocument['moves'][number], 'vcpus' | 'memoryGiB' | 'image'>[];
  before: Pick<PlanDocument['before'], 'cost' | 'crossCloud'>;
  after: Pick<PlanDocument['after'], 'cost' | 'crossCloud'>;
};

/** A plan the executor can carry out. */
export type ExecutablePlan = Omit<PlanView, 'moves' | 'before'> &
  Pick<PlanDocument, 'moves' | 'clouds'> & {
    before: Pick<PlanDocument['before'], 'cost' | 'crossCloud' | 'load'>;
    /** Absent from plans written before it was kept. */
    sharedContent?: Pick<PlanDocument['sharedContent'][number], 'image' | 'to'>[] | undefined;
  };

export async function readPlan(path: string): Promise<PlanView> {
  return parsePlan(path, await readJson(path), planSchema);
}

export async function readExecutablePlan(path: string): Promise<ExecutablePlan> {
  const data = await readJson(path);
  if (typeof data === 'object' && data !== null && !('clouds' in data))
    throw new UserError(
      'plan_invalid',
      `${path} has no clouds (capacities, bandwidth): it was written by an older sky-plan; run sky-plan plan again`,
    );
  return parsePlan(path, data, executableSchema);
}

async function readJson(path: string): Promise<unknown> {
  const text = await readText(path, 'plan_unreadable', 'the plan');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(
      'plan_unreadable',
      `cannot read the plan ${path}: ${(err as Error).message}; expected the output of sky-plan plan --json`,
    );
  }
}

function parsePlan<S extends v.GenericSchema>(path: string, data: unknown, schema: S): v.InferOutput<S> {
  const parsed = v.safeParse(schema, data);
  if (!parsed.success) {
    throw new UserError('plan_invalid', `invalid plan ${path}: ${firstIssue(parsed.issues)}`);
  }
  return parsed.output;
}
