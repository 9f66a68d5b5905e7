import { readFileSync } from 'node:fs';
import { doctorCommand, DOCTOR_USAGE } from './commands/doctor.js';
import { planCommand, PLAN_USAGE } from './commands/plan.js';
import { processIO, UsageError, type CommandIO } from './commands/io.js';
import { renderCorefileCommand, RENDER_USAGE } from './commands/render-corefile.js';
import { uninstallCommand } from './commands/uninstall.js';
import { ConfigError, envName, FLAGS, loadConfig } from './config.js';
import { createLogger } from './log.js';
import { removeHostsFileBlock, runHostsFile } from './hosts-main.js';
import { closeConnectionPools } from './kube/pooled-kubeconfig.js';
import { runController } from './main.js';

const USAGE = `Usage: hairpin-proxy [run] [flags]     run the controller (default)
       hairpin-proxy --version           print the version
       hairpin-proxy uninstall [flags]   remove hairpin-proxy's rules from the live Corefile
       hairpin-proxy hosts-file --hosts-path PATH [--remove] [flags]
                                         keep the routed hosts in a node's /etc/hosts (a DaemonSet);
                                         --remove takes our block out and exits
       ${RENDER_USAGE.split('\n').join('\n       ')}
       ${PLAN_USAGE.split('\n').join('\n       ')}
       ${DOCTOR_USAGE.split('\n').join('\n       ')}

Flags of run and uninstall (each also read from the environment variable shown):
${FLAGS.map((f) => `  --${f.name.padEnd(18)} ${envName(f.name).padEnd(26)} ${f.help}${f.default && f.kind !== 'boolean' ? ` (default ${f.default})` : ''}`).join('\n')}
`;

export async function main(argv: readonly string[], io: CommandIO = processIO): Promise<number> {
  const [first, ...rest] = argv;
  const command = first === '--version' ? 'version' : first === undefined || first.startsWith('-') ? 'run' : first;
  const args = command === first ? rest : argv;
  try {
    switch (command) {
      case 'version':
        io.stdout(`hairpin-proxy ${packageVersion()}\n`);
        return 0;
      case 'help':
        io.stdout(USAGE);
        return 0;
      case 'render-corefile':
        return await renderCorefileCommand(args, io);
      case 'plan':
        return await planCommand(args, io);
      case 'doctor':
        if (args.includes('--help') || args.includes('-h')) {
          io.stdout(USAGE);
          return 0;
        }
        return await doctorCommand(args, io, process.env);
      case 'hosts-file': {
        const { hostsPath, remove, rest } = hostsFileArgs(args);
        const help = rest.includes('--help') || rest.includes('-h');
        // Flags are checked before --help answers: a DaemonSet's arguments can be tried that way.
        const config = loadConfig(rest.filter((arg) => arg !== '--help' && arg !== '-h'), process.env);
        if (help) {
          io.stdout(USAGE);
          return 0;
        }
        const log = createLogger(config.logLevel);
        if (remove) {
          await removeHostsFileBlock(hostsPath, log);
          return 0;
        }
        return await runHostsFile(config, hostsPath, log, stopSignal());
      }
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
  } finally {
    // The command is done: nothing may hold the process open, not even a handshake that never ends.
    await closeConnectionPools();
  }
}

/** hosts-file's own flags; the rest are run's. */
function hostsFileArgs(args: readonly string[]): { hostsPath: string; remove: boolean; rest: string[] } {
  const rest: string[] = [];
  let hostsPath = '';
  let remove = false;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (arg === '--remove') remove = true;
    else if (arg === '--hosts-path') hostsPath = args[(i += 1)] ?? '';
    else if (arg.startsWith('--hosts-path=')) hostsPath = arg.slice('--hosts-path='.length);
    else rest.push(arg);
  }
  if (!hostsPath.startsWith('/')) throw new UsageError('hosts-file needs --hosts-path with an absolute path (the node\'s /etc/hosts, mounted)');
  return { hostsPath, remove, rest };
}

/** The package's own version: what a release is tagged with, and what the image carries. */
export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
  return manifest.version ?? 'unknown';
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

