import { statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { QmpClient } from '../execute/qmp-client.js';
import { fingerprintFile } from '../plan/fingerprint.js';
import { checkOutputPath } from './output-path.js';

interface FingerprintFlags {
  qmp?: string;
  file?: string;
  name?: string;
  out?: string;
}

export function registerFingerprint(program: Command): void {
  program
    .command('fingerprint')
    .summary("sketch a VM's memory or a disk image, for dedup-aware migration costs")
    .description(
      "A compact content sketch (the 1,024 smallest page hashes) of a running VM's memory, read with QMP\n" +
        'pmemsave while the guest runs, or of a disk image. Name it in the inventory (vms[].sketch): the\n' +
        'planner then measures how similar the VMs of an image are instead of taking images[].similarity.',
    )
    .option('--qmp <socket>', "a running VM's QMP socket (QEMU on this machine)")
    .option('--file <path>', 'a disk image or memory dump')
    .option('--name <vm>', 'the VM the sketch is of (default: from the socket or file name)')
    .option('-o, --out <file>', 'write the sketch there instead of stdout')
    .action(async (flags: FingerprintFlags) => {
      if ((flags.qmp === undefined) === (flags.file === undefined))
        throw new UserError('fingerprint_source', 'give exactly one of --qmp or --file');
      checkOutputPath('--out', flags.out);
      if (flags.file !== undefined && statSync(flags.file, { throwIfNoEntry: false })?.isDirectory())
        throw new UserError('fingerprint_directory', `--file: ${flags.file} is a directory, not an image`);
      const name = flags.name ?? basename(flags.qmp ?? flags.file ?? '').replace(/\.[^.]*$/, '');
      const sketch =
        flags.file !== undefined
          ? await fingerprintFile(flags.file, name, flags.file)
          : await memory(flags.qmp as string, name);
      const json = `${JSON.stringify(sketch)}\n`;
      if (flags.out === undefined) process.stdout.write(json);
      else await writeFile(flags.out, json);
    });
}

/** Guest RAM from address 0 (below the PCI hole: guests up to 3 GiB are read whole), saved and sketched. */
async function memory(socket: string, name: string) {
  const qmp = await QmpClient.connect(socket).catch((err: Error) => {
    throw new UserError('qmp_unreachable', err.message);
  });
  const dump = join(tmpdir(), `sky-plan-pmemsave-${process.pid}-${Date.now()}`);
  try {
    const { 'base-memory': size } = await qmp.execute<{ 'base-memory': number }>('query-memory-size-summary');
    await qmp.execute('pmemsave', { val: 0, size: Math.min(size, 3 * 2 ** 30), filename: dump });
    return await fingerprintFile(dump, name, `pmemsave via ${socket}`);
  } finally {
    qmp.close();
    await rm(dump, { force: true });
  }
}
