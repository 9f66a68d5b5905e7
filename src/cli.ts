#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { planCommand, PLAN_USAGE } from './commands/plan.js';
import { processIO, UsageError, type CommandIO } from './commands/io.js';
import { renderCorefileCommand, RENDER_USAGE } from './commands/render-corefile.js';
import { uninstallCommand } from './commands/uninstall.js';
import { ConfigError, envName, FLAGS, loadConfig } from './config.js';
import { createLogger } from './log.js';
import { runController } from './main.js';

const USAGE = `Usage: hairpin-proxy [run] [flags]     run the controller (default)
       hairpin-proxy uninstall [flags]   remove hairpin-proxy's rules from the live Corefile
       ${RENDER_USAGE.split('\n').join('\n       ')}
       ${PLAN_USAGE.split('\n').join('\n       ')}

Flags of run and uninstall (each also read from the environment variable shown):
${FLAGS.map((f) => `  --${f.name.padEnd(18)} ${envName(f.name).padEnd(26)} ${f.help}${f.default && f.kind !== 'boolean' ? ` (default ${f.default})` : ''}`).join('\n')}
`;

export async function main(argv: readonly string[], io: CommandIO = processIO): Promise<number> {
  const [first, ...rest] = argv;
  const command = first === undefined || first.startsWith('-') ? 'run' : first;
  const args = command === first ? rest : argv;
  try {
    switch (command) {
      case 'help':
        io.stdout(USAGE);
        return 0;
      case 'render-corefile':
        return await renderCorefileCommand(args, io);
      case 'plan':
        return await planCommand(args, io);
      case 'run':
      case 'uninstall': {
        if (args.includes('--help') || args.includes('-h')) {
          io.stdout(USAGE);
          return 0;
        }
        const config = loadConfig(args, process.env);
        const log = createLogger(config.logLevel);
        if (command === 'uninstall') return await uninstallCommand(config, log);
        return await runController(config, log, stopSignal());
      }
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      io.stderr(`hairpin-proxy: ${(error as Error).message}\n`);
      return 2;
    }
    io.stderr(`hairpin-proxy ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

/** SIGTERM and SIGINT start a graceful drain; a second signal exits at once. */
function stopSignal(): AbortSignal {
  const controller = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (controller.signal.aborted) process.exit(130);
      controller.abort();
    });
  }
  return controller.signal;
}

const invokedDirectly = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  process.exitCode = await main(process.argv.slice(2));
}
