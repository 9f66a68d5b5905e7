/**
 * A line diff for logs and --dry-run. Our edits are contiguous (one marker block, legacy lines),
 * so trimming the common head and tail is exact enough and linear even for very large Corefiles.
 */
export function lineDiff(before: string, after: string, context = 1): string {
  if (before === after) return '';
  const a = before.split('\n');
  const b = after.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head += 1;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail += 1;
  const from = Math.max(0, head - context);
  const lines = [
    `@@ line ${from + 1} @@`,
    ...a.slice(from, head).map((line) => `  ${line}`),
    ...a.slice(head, a.length - tail).map((line) => `- ${line}`),
    ...b.slice(head, b.length - tail).map((line) => `+ ${line}`),
    ...a.slice(a.length - tail, a.length - tail + context).map((line) => `  ${line}`),
  ];
  return lines.join('\n');
}
