/** `npm run bench -- scale`: being written (issue 12). */
export function benchScale(): Promise<object> {
  return Promise.reject(new Error('bench scale: not written yet'));
}
