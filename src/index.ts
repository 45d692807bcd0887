/**
 * sky-plan as a library: what the commands do, callable from a program. Each stage takes and returns
 * plain data: captures → analysis → graph@1 document → plan@1 document → waves of migrations.
 * (`import { analyzeCaptures, planCluster, schedule } from 'sky-plan'`)
 */
export { CaptureError } from '../capture/capture-error.js';
export type { Analysis, AnalyzeOptions, CaptureInput, CaptureReport } from './analyze.js';
export { analyzeCaptures } from './analyze.js';
export { type CollectOptions, runCollect } from './collect/collect-service.js';
export { asUserError, type ErrorCode, EXIT, UserError } from './errors.js';
export type {
  DedupReport,
  MigrationDriver,
  MigrationProgress,
  MigrationStep,
} from './execute/driver.js';
export { MigrationFailed } from './execute/driver.js';
export type { ExecuteEvent, ExecuteOptions } from './execute/execute-plan.js';
export { executePlan } from './execute/execute-plan.js';
export { Journal, readJournal } from './execute/journal.js';
export type { ConcurrencyLimits, Migration, ScheduleInput, Wave } from './execute/schedule.js';
export { CONCURRENCY_DEFAULTS, DeadlockError, schedule, scheduleInput } from './execute/schedule.js';
export { graphDocument } from './graph/graph-document.js';
export type { GraphDocument, GraphEdge, GraphNode } from './graph/graph-model.js';
export { fillDiskInfo } from './inventory/disk-info.js';
export { inventoryDiff } from './inventory/inventory-diff.js';
export { loadInventory, parseInventory } from './inventory/load-inventory.js';
export { mergeInventories } from './inventory/merge-inventories.js';
export { readLibvirt } from './inventory/read-libvirt.js';
export type { Cloud, Disk, Inventory } from './inventory/schema.js';
export { PLAN_DEFAULTS, type PlanOptions } from './plan/build-problem.js';
export { type ClusterPlanOptions, planCluster } from './plan/plan-cluster.js';
export type { PlanDocument, PlanMove } from './plan/plan-document.js';
export { type PlannerGraph, readGraph } from './plan/read-graph.js';
export { type ExecutablePlan, readExecutablePlan, readPlan } from './plan/read-plan.js';
