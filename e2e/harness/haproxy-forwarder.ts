/**
 * The configuration of an HAProxy that does what a PROXY-protocol load balancer does: in TCP mode,
 * each listener forwards to a port of one backend with a PROXY header (v1 `send-proxy` unless told). The
 * story's cloud load balancer, its static hairpin HAProxy and the kind e2e's load balancer use it.
 */
export interface ForwardedPort {
  readonly name: string;
  readonly port: number;
  readonly backendPort: number;
}

export interface ForwarderOptions {
  readonly comment: string;
  /** Empty: every address. */
  readonly bindAddress: string;
  readonly backendAddress: string;
  readonly ports: readonly ForwardedPort[];
  /** The PROXY protocol version of the header (default v1). */
  readonly proxyProtocol?: 'v1' | 'v2';
  /** HAProxy's `log` target: stderr for a local process, stdout for a container. */
  readonly log?: 'stderr format short' | 'stdout format raw';
}

export function proxyProtocolForwarderConfig(options: ForwarderOptions): string {
  const listeners = options.ports.map(
    ({ name, port, backendPort }) => `
listen ${name}
    bind ${options.bindAddress}:${port}
    server ingress ${options.backendAddress}:${backendPort} ${options.proxyProtocol === 'v2' ? 'send-proxy-v2' : 'send-proxy'}`,
  );
  return `# ${options.comment}
global
    log ${options.log ?? 'stderr format short'} local0 notice
defaults
    mode tcp
    log global
    option tcplog
    timeout connect 5s
    timeout client 60s
    timeout server 60s
${listeners.join('\n')}
`;
}
