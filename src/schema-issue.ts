import type * as v from 'valibot';

/** `vms[2].nics[0].mac` from a validation path. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

/** The first problem valibot found, as "where: what" (`edges[3].bytes: Invalid type ...`). */
export function firstIssue(
  issues: readonly [v.BaseIssue<unknown>, ...v.BaseIssue<unknown>[]],
  prefix: readonly PropertyKey[] = [],
): string {
  const issue = issues[0];
  return `${formatPath([...prefix, ...issuePath(issue)])}: ${issue.message}`;
}

export function issuePath(issue: v.BaseIssue<unknown>): PropertyKey[] {
  return (issue.path ?? []).map((item) => item.key as PropertyKey);
}
