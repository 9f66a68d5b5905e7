import { Observable, type ConfigurationOptions, type RequestContext, type ResponseContext } from '@kubernetes/client-node';
import { toKubeError } from './errors.js';

/** An apiserver call that gets no answer this long is given up as Unavailable (client-node has no default). */
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * One call to the apiserver: bounded by REQUEST_TIMEOUT_MS, cancelled through signal (it then
 * rejects with the signal's reason, a Cancelled), any other failure a KubeError naming operation.
 */
export async function kubeCall<T>(
  operation: string,
  signal: AbortSignal | undefined,
  call: (options: ConfigurationOptions) => Promise<T>,
  options: ConfigurationOptions = {},
): Promise<T> {
  signal?.throwIfAborted();
  const bounded = signal ? AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) : AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  try {
    return await call(withSignal(bounded, options));
  } catch (error) {
    signal?.throwIfAborted();
    throw toKubeError(operation, error);
  }
}

function withSignal(signal: AbortSignal, options: ConfigurationOptions): ConfigurationOptions {
  const middleware = {
    pre: (context: RequestContext) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
  };
  return { ...options, middleware: [...(options.middleware ?? []), middleware], middlewareMergeStrategy: 'append' };
}
