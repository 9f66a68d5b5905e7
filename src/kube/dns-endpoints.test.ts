import { describe, expect, it } from '@jest/globals';
import { planDnsEndpointChanges, type DnsEndpointSpec } from './dns-endpoints.js';

const spec = (name: string, target: string): DnsEndpointSpec => ({ name, endpoints: [{ dnsName: `${name}.example.com`, recordType: 'A', targets: [target], recordTTL: 30 }] });
const live = (name: string, target: string, resourceVersion = '7') => ({ metadata: { name, resourceVersion }, spec: { endpoints: spec(name, target).endpoints } });

describe('planDnsEndpointChanges', () => {
  it.each([
    ['creates what is missing', [spec('a', '10.0.0.1')], [], { create: ['a'], update: [], remove: [] }],
    ['changes nothing that matches', [spec('a', '10.0.0.1')], [live('a', '10.0.0.1')], { create: [], update: [], remove: [] }],
    ['updates a changed address, with its resourceVersion', [spec('a', '10.0.0.2')], [live('a', '10.0.0.1', '42')], { create: [], update: ['a@42'], remove: [] }],
    ['deletes ours that are no longer wanted', [], [live('gone', '10.0.0.1', '9')], { create: [], update: [], remove: ['gone@9'] }],
  ] as const)('%s', (_name, desired, current, expected) => {
    const changes = planDnsEndpointChanges(desired, current);
    expect({
      create: changes.create.map((c) => c.name),
      update: changes.update.map((u) => `${u.name}@${u.resourceVersion}`),
      remove: changes.remove.map((r) => `${r.name}@${r.resourceVersion}`),
    }).toEqual(expected);
  });
});
