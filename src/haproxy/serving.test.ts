import { describe, expect, it } from '@jest/globals';
import type { Backend, RuntimeServer } from './dataplane/models.js';
import { fileLag, servingBackend } from './serving.js';

const file: Backend = {
  name: 'hairpin_ingress_80',
  servers: {
    slot1: { name: 'slot1', address: '10.0.0.1', port: 80, 'send-proxy': 'enabled', maintenance: 'disabled' },
    slot2: { name: 'slot2', address: '10.0.0.2', port: 80, 'send-proxy': 'enabled', maintenance: 'enabled' },
  },
};
const running = (slot1: RuntimeServer['admin_state'], slot2: RuntimeServer['admin_state']): RuntimeServer[] => [
  { name: 'slot1', address: '10.0.0.1', port: 80, admin_state: slot1 },
  { name: 'slot2', address: '10.0.0.2', port: 80, admin_state: slot2 },
];

describe('servingBackend and fileLag', () => {
  it.each([
    { what: 'runtime as the file says: nothing owed', runtime: running('ready', 'maint'), lag: [] },
    { what: 'no runtime view (not loaded yet): the file is what serves', runtime: undefined, lag: [] },
    { what: 'a server parked at runtime only: its line owes maintenance', runtime: running('maint', 'maint'), lag: [['slot1', 'enabled']] },
    { what: 'a server switched on at runtime only: its line owes leaving maintenance', runtime: running('ready', 'ready'), lag: [['slot2', 'disabled']] },
    { what: 'draining counts as out of rotation', runtime: running('drain', 'maint'), lag: [['slot1', 'enabled']] },
  ])('$what', ({ runtime, lag }) => {
    const serving = servingBackend(file, runtime);
    const owed = fileLag(file, serving);
    expect(owed.map((s) => [s.name, s.maintenance])).toEqual(lag);
    // An owed line is the file's own line, with only what the runtime decides changed.
    for (const line of owed) expect(line).toEqual({ ...file.servers?.[line.name], maintenance: line.maintenance });
  });

  it('takes the address and port HAProxy runs over the file line', () => {
    const serving = servingBackend(file, [{ name: 'slot1', address: '10.0.0.9', port: 8080, admin_state: 'ready' }]);
    expect(serving.servers?.slot1).toMatchObject({ address: '10.0.0.9', port: 8080, 'send-proxy': 'enabled' });
    expect(serving.servers?.slot2).toEqual(file.servers?.slot2);
  });
});
