/** `npm run bench -- charts`: being written (issue 12). */
export function benchCharts(): Promise<object> {
  return Promise.reject(new Error('bench charts: not written yet'));
}
