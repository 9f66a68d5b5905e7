/** `npm run bench -- burst`: being written (issue 12). */
export function benchBurst(): Promise<object> {
  return Promise.reject(new Error('bench burst: not written yet'));
}
