import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { toolPath } from '../e2e/harness/index.js';

const run = promisify(execFile);

/** Requests per second wrk reaches against url: one thread, keep-alive connections, bounded by seconds. */
export async function wrkRate(url: string, options: { connections: number; seconds: number }): Promise<number> {
  const { stdout } = await run(await toolPath('wrk'), ['-t1', `-c${options.connections}`, `-d${options.seconds}s`, url], { timeout: (options.seconds + 30) * 1000 });
  const match = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: .*/.exec(stdout);
  if (!match) throw new Error(`wrk printed no rate:\n${stdout}`);
  if (errors) throw new Error(`wrk saw errors against ${url}:\n${stdout}`);
  return Number(match[1]);
}
