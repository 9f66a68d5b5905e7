import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout (or another stream, for tests and for the CLI's stderr). */
export function createLogger(level: string, destination: NodeJS.WritableStream = process.stdout): Logger {
  return pino(
    {
      level,
      base: { app: 'hairpin-proxy' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
    },
    destination,
  );
}

let syncCounter = 0;

/** A short id that ties every log line and every write of one sync together. */
export function nextSyncId(): string {
  syncCounter += 1;
  return `${Date.now().toString(36)}-${syncCounter.toString(36)}`;
}
