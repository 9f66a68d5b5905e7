/** `npm run bench -- dns`: being written (issue 12). */
export function benchDns(): Promise<object> {
  return Promise.reject(new Error('bench dns: not written yet'));
}
