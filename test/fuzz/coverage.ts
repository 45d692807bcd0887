import { Session } from 'node:inspector/promises';

/**
 * Which code an input ran, from V8's precise block coverage (the inspector, in this process): the set of
 * (script, block) pairs executed since the last call, for the project's own modules.
 */
export class Coverage {
  private readonly session = new Session();

  async start(): Promise<void> {
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }

  /** Blocks run since the last call, as "script:start:end" keys. */
  async take(): Promise<string[]> {
    const { result } = await this.session.post('Profiler.takePreciseCoverage');
    const blocks: string[] = [];
    for (const script of result) {
      if (!/\/dist\/(capture|src)\//.test(script.url)) continue;
      for (const fn of script.functions)
        for (const range of fn.ranges)
          if (range.count > 0) blocks.push(`${script.scriptId}:${range.startOffset}:${range.endOffset}`);
    }
    return blocks;
  }

  stop(): void {
    this.session.disconnect();
  }
}
