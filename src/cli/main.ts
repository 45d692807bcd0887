#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { asUserError, EXIT } from '../errors.js';
import { VERSION } from '../version.js';
import { registerAnalyze } from './analyze-command.js';
import { registerAutopilot } from './autopilot-command.js';
import { registerCapture } from './capture-command.js';
import { registerCollect } from './collect-command.js';
import { ERROR_TABLE } from './error-table.js';
import { registerExecute } from './execute-command.js';
import { registerExport } from './export-command.js';
import { registerFingerprint } from './fingerprint-command.js';
import { registerGraph } from './graph-command.js';
import { registerInventory } from './inventory-command.js';
import { registerPlan } from './plan-command.js';
import { registerReport } from './report-command.js';
import { registerShell } from './shell-command.js';
import { registerTunnel } from './tunnel-command.js';
import { registerVerify } from './verify-command.js';

/** The CLI is a thin layer over the exported API: it parses flags, sets process.exitCode, never exits. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('sky-plan')
    .description('Who talks to whom across your clouds, where each VM should run, and how to move it there.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'sky-plan: error: ')) })
    .showHelpAfterError('(run sky-plan --help for usage)');
  registerAnalyze(program);
  registerCapture(program);
  registerCollect(program);
  registerGraph(program);
  registerPlan(program);
  registerExport(program);
  registerReport(program);
  registerExecute(program);
  registerAutopilot(program);
  registerVerify(program);
  registerTunnel(program);
  registerFingerprint(program);
  registerInventory(program);
  registerShell(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    // A command that finished with a result other than success (execute: some moves failed) says so.
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const user = asUserError(err);
    if (user !== undefined) {
      process.stderr.write(`sky-plan: error: ${user.message}\n`);
      return EXIT[ERROR_TABLE[user.code].exit];
    }
    process.stderr.write(
      `sky-plan: internal error (please report it with the command line): ${(err as Error).stack ?? String(err)}\n`,
    );
    return EXIT.internal;
  }
}

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  // A closed pipe (sky-plan ... | head) is not an error worth a stack trace.
  if (err.code === 'EPIPE') process.exit(EXIT.ok);
  throw err;
});

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
