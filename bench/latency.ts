/** `npm run bench -- latency`: being written (issue 12). */
export function benchLatency(): Promise<object> {
  return Promise.reject(new Error('bench latency: not written yet'));
}
