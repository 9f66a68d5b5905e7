import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { dataplaneConfigYaml, haproxyBaseConfig, reloadScript } from './dataplane-config.js';

const options = {
  host: '127.0.0.1',
  port: 5555,
  username: 'admin',
  password: 'p"w: #1',
  configFile: '/tmp/x/haproxy.cfg',
  haproxyBin: '/usr/sbin/haproxy',
  reloadScriptPath: '/tmp/x/reload.sh',
  stateDir: '/tmp/x/state',
};

describe('dataplaneConfigYaml', () => {
  it('is YAML the API reads as intended, whatever the password holds', () => {
    const config = parse(dataplaneConfigYaml(options));
    expect(config.dataplaneapi).toMatchObject({
      host: '127.0.0.1',
      port: 5555,
      user: [{ name: 'admin', insecure: true, password: 'p"w: #1' }],
      transaction: { transaction_dir: '/tmp/x/state/transactions', max_open_transactions: 20 },
    });
    expect(config.haproxy).toEqual({
      config_file: '/tmp/x/haproxy.cfg',
      haproxy_bin: '/usr/sbin/haproxy',
      master_worker_mode: true,
      reload: {
        reload_strategy: 'custom',
        reload_delay: 1,
        reload_cmd: '/tmp/x/reload.sh',
        restart_cmd: '/tmp/x/reload.sh',
        reload_retention: 1,
      },
    });
  });

  it('refuses a reload script path the API would split on its spaces', () => {
    expect(() => dataplaneConfigYaml({ ...options, reloadScriptPath: '/tmp/my dir/reload.sh' })).toThrow(/whitespace/);
  });
});

describe('haproxyBaseConfig', () => {
  it('has an admin runtime socket, explicit timeouts and no default-server', () => {
    const config = haproxyBaseConfig({ runtimeSocket: '/run/h.sock' });
    expect(config).toMatch(/stats socket \/run\/h\.sock mode 600 level admin expose-fd listeners/);
    for (const t of ['connect', 'client', 'server', 'tunnel']) expect(config).toMatch(new RegExp(`timeout ${t} \\S+`));
    expect(config).not.toMatch(/default-server/);
  });
});

describe('reloadScript', () => {
  it('quotes the socket path for the shell', () => {
    expect(reloadScript({ masterSocket: "/tmp/it's/master.sock" })).toContain(`sock='/tmp/it'\\''s/master.sock'`);
  });
});
