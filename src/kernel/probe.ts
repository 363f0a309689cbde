// Checks lowered to the commands that send the real packets: ping, nc, curl from inside a
// namespace; `ip -j link` for link state. The same commands appear in tutorials.

import type { Check } from '../labfile/types.js';
import type { Command } from './command.js';
import { inNetns } from './lower.js';

/** curl's write-out after each transfer, so N responses can be told apart. */
const WRITE_OUT = '\\nstatus=%{http_code}\\n';

/** Bounds on a capture: it stops after this many packets even if the flow goes on. */
export const CAPTURE_MAX_PACKETS = 200;

/**
 * The command for a check. `birdSocket` names a speaker's BIRD control socket (bgp checks).
 * A capture check's command is its tcpdump; the flow it watches is the nested check's command.
 */
export function probeCommand(check: Check, netns: string, birdSocket: (speaker: string) => string = () => '', labdir = ''): Command {
  const p = check.probe;
  // A must-fail probe waits its whole timeout once; a must-pass probe retries short attempts.
  const wait = check.expect.reachable ? 1 : Math.max(1, Math.round(check.timeoutMs / 1000));
  switch (p.kind) {
    case 'ping':
      return inNetns(netns, ['ping', '-n', '-c', '1', '-W', String(wait), p.address]);
    case 'tcp':
      return inNetns(netns, ['nc', '-z', '-v', '-w', String(wait), p.address, String(p.port)]);
    case 'http': {
      const urls = Array.from({ length: p.requests }, () => p.url);
      // "Connection: close" makes every request a new connection, so each one is load-balanced.
      const close = p.requests > 1 ? ['-H', 'Connection: close'] : [];
      return inNetns(netns, ['curl', '-sS', '--max-time', String(Math.max(2, wait)), ...close, '-w', WRITE_OUT, ...urls]);
    }
    case 'link':
      return { file: 'ip', args: ['-n', netns, '-j', 'link', 'show', 'dev', p.interface] };
    // "ip route show PREFIX" selects exactly that prefix (of any type: blackhole routes too).
    case 'route':
      return { file: 'ip', args: ['-n', netns, '-j', 'route', 'show', p.to === 'default' || p.to.includes('/') ? p.to : `${p.to}/32`] };
    case 'neigh':
      return { file: 'ip', args: ['-n', netns, '-j', 'neigh', 'show', p.address] };
    case 'fdb':
      return { file: 'bridge', args: ['-n', netns, '-j', 'fdb', 'show', 'dev', p.dev] };
    case 'bgp':
      return inNetns(netns, ['birdc', '-s', birdSocket(check.from), 'show', 'protocols']);
    case 'capture':
      // -x: every packet's bytes in hex, decoded by knetlab (outer headers, VXLAN, inner packet).
      return inNetns(netns, ['tcpdump', '-i', p.interface, '-nn', '-l', '-x', '-c', String(CAPTURE_MAX_PACKETS), ...(p.filter ? [p.filter] : [])]);
    case 'exec':
      return inNetns(
        netns,
        p.argv.map((a) => a.replaceAll('{labdir}', labdir)),
      );
  }
}

export interface HttpReply {
  status: number;
  body: string;
}

/** Split curl output written with the status write-out into one reply per request. */
export function parseCurl(stdout: string): HttpReply[] {
  const replies: HttpReply[] = [];
  const re = /\nstatus=(\d{3})\n/g;
  let from = 0;
  for (let m = re.exec(stdout); m; m = re.exec(stdout)) {
    replies.push({ status: Number(m[1]), body: stdout.slice(from, m.index).trim() });
    from = re.lastIndex;
  }
  return replies;
}
