/**
 * One-shot commands for the story (curl, dig, iptables, openssl), optionally inside a network
 * namespace. Unlike Netns.exec they report a non-zero exit instead of throwing: a failing curl is
 * half of what the story is about.
 */
import { execFile } from 'node:child_process';
import { toolPath, type ToolName } from '../harness/index.js';

export interface RunResult {
  /** The exit code; -1 when the command was killed (timeout) or could not start. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** A namespace name (`ip netns exec NAME …`); the root namespace when absent. */
  readonly netns?: string;
  readonly timeoutMs?: number;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly result: RunResult,
  ) {
    super(`${command} exited ${result.code}: ${(result.stderr.trim() || result.stdout.trim()).slice(0, 2000)}`);
    this.name = 'CommandError';
  }
}

export async function run(tool: ToolName, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const bin = await toolPath(tool);
  const [file, argv] = options.netns ? [await toolPath('ip'), ['netns', 'exec', options.netns, bin, ...args]] : [bin, [...args]];
  return new Promise((resolve) => {
    execFile(file, argv, { timeout: options.timeoutMs ?? 30_000, maxBuffer: 4 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** run(), throwing a CommandError on a non-zero exit; returns stdout. */
export async function runOk(tool: ToolName, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await run(tool, args, options);
  if (result.code !== 0) throw new CommandError(`${options.netns ? `[netns ${options.netns}] ` : ''}${tool} ${args.join(' ')}`, result);
  return result.stdout;
}
