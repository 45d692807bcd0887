import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WindowDocument } from '../../capture/window-document.js';
import { CLI, ROOT } from '../helpers.js';

/** A sky-plan command running in the background (a collector, an aggregator), with its output kept. */
export class Background {
  private static readonly running = new Set<Background>();
  readonly proc: ChildProcess;
  stdout = '';
  stderr = '';
  private readonly exited: Promise<number | null>;

  /** `netns`: run it in that network namespace (ip netns exec). */
  constructor(args: string[], env: NodeJS.ProcessEnv = process.env, netns?: string) {
    const argv = [process.execPath, CLI, ...args];
    const [command, ...rest] = (netns === undefined ? argv : ['ip', 'netns', 'exec', netns, ...argv]) as [
      string,
      ...string[],
    ];
    this.proc = spawn(command, rest, {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stdout?.on('data', (d: Buffer) => {
      this.stdout += d.toString();
    });
    this.proc.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.exited = new Promise((resolve) =>
      this.proc.on('exit', (code) => {
        Background.running.delete(this);
        resolve(code);
      }),
    );
    Background.running.add(this);
  }

  /** Kills whatever a failed test left running (its pipes would keep the test process alive). */
  static killAll(): void {
    for (const b of Background.running) b.proc.kill('SIGKILL');
  }

  /** Waits until stderr matches (e.g. the listening line) and returns the match. */
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.stderr);
      if (m !== null) return m;
      if (Date.now() > deadline || this.proc.exitCode !== null) {
        throw new Error(`no ${pattern} in time; stderr:\n${this.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Waits for the command to end by itself (killed with SIGKILL after `timeoutMs`), its exit code. */
  async exit(timeoutMs: number): Promise<number | null> {
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** Sends `signal` and waits for the exit code (killed with SIGKILL after `timeoutMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<number | null> {
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** `http://host:port` of an aggregator started with `--listen 127.0.0.1:0`. */
export async function aggregatorUrl(agg: Background): Promise<string> {
  const m = await agg.waitFor(/listening for collectors on (http:\/\/[^\s]+)/);
  return m[1] as string;
}

/** The windows `sky-plan capture --out DIR` wrote, and the files they are in. */
export function readWindowFiles(dir: string): { files: string[]; docs: WindowDocument[] } {
  const files = readdirSync(dir).map((f) => join(dir, f));
  const docs = files.flatMap((f) =>
    readFileSync(f, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as WindowDocument),
  );
  return { files, docs };
}
