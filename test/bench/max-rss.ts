/**
 * Runs the sky-plan CLI in this process and prints its peak resident set size (bytes) on stderr as
 * `max-rss <n>`, so the benchmark needs no external `time` tool. Usage: node max-rss.js <sky-plan args>.
 */
process.on('exit', () => {
  process.stderr.write(`max-rss ${process.resourceUsage().maxRSS * 1024}\n`);
});
await import(new URL('../../sky-plan.mjs', import.meta.url).href);
