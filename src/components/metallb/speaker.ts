// MetalLB's speaker in layer-2 mode (metallb/metallb speaker/ and internal/layer2/), as a small
// daemon: one per Kubernetes node, inside that node's network namespace.
//
//   membership   which speakers are up. MetalLB uses hashicorp/memberlist for fast dead-node
//                detection; here a stand-in does the same job on the same port: every 500 ms
//                each speaker sends {node, incarnation} over UDP from <node address>:7946 to
//                every other node's address, and a peer counts as alive while it was heard
//                within the last 2 s. A speaker that stops cleanly says so ({leave: true}), as
//                memberlist's Leave() does, so its peers drop it at once.
//   election     stateless, as in speaker/layer2_controller.go: for each LoadBalancer Service
//                with an ingress IP and at least one endpoint that can serve, the candidates are
//                the alive nodes (under externalTrafficPolicy Local, only those with such an
//                endpoint), ordered by sha256(node + "#" + ip) ascending (sortL2Candidates).
//                Every speaker computes the same order; the first one announces.
//   announcing   the kernel never learns the VIP: no address on any interface. An AF_PACKET
//                socket on the interface answers ARP requests for it in userspace, with the
//                interface's MAC (internal/layer2/arp.go). Taking a VIP on, and every later
//                sync of a service this node announces (after a membership change, or a change
//                to the service or its endpoints), starts or extends a 5-second burst of
//                gratuitous ARP (SetBalancer -> doSpam -> spamLoop in announcer.go), so that
//                neighbours update their caches, also after a split brain heals.
//
// The cluster comes from the StateFile (api/objects.ts), which others rewrite atomically; it is
// followed with the agent runtime's state watch (agent/watch.ts).
//
// Config (JSON): { "node": this node's name in the StateFile, "interface": "eth0",
//   "stateFile", "memberlistPort": 7946, "pidfile", "log" } (paths absolute). The log gets one
//   JSON object per line (nodeAssigned, serviceWithdrawn, memberlist node events, ...); next to
//   the pidfile, <pidfile without .pid>.status.json holds {node, alive, announcing}, rewritten
//   on every change and removed on exit.
//
// Usage (the lab engine's contract, as for flannel-udp):
//   ip netns exec <node> node dist/agent.js metallb-speaker --config FILE
//                        start in the background; exit 0 once bound, the pidfile written and
//                        the status file there; else exit 1 with a one-line reason on stderr
//   ... --config FILE --foreground
//                        run in this process, logging to stderr
//
// The election is election.ts, the ARP frames arp.ts, the AF_PACKET socket arp-socket.ts; this
// file is the daemon: membership, announcing, the status file and the agent definition.
import dgram from 'node:dgram';
import { unlinkSync, writeSync } from 'node:fs';
import type { NodeInfo, SpeakerStatus, StateFile } from '../../api/objects.js';
import { readConfig } from '../../agent/config.js';
import { writeAtomic, type Agent } from '../../agent/runtime.js';
import { watchState, type StateWatch } from '../../agent/watch.js';
import { readState } from '../../k8s/store.js';
import { errname } from '../../agent/libc.js';
import { l2Decisions, slicesOf } from './election.js';
import { ARP_REPLY, ARP_REQUEST, arpReply, buildArp, gratuitousArp, isIPv4, parseArp, shouldReply } from './arp.js';
import { ArpSocket, checkSysfs, interfaceState } from './arp-socket.js';

const PROG = 'metallb-speaker';

// Membership timing (the stand-in for memberlist's probes and suspicion timeout).
const HEARTBEAT_MS = 500;
const DEAD_AFTER_MS = 2000;
const SWEEP_MS = 250;
// Before its first election a speaker waits to hear its peers, as memberlist's Join() does its
// push/pull with the known members first: otherwise each speaker would see only itself for a
// moment and announce every VIP at once. Two heartbeat periods, or less once all have spoken.
const JOIN_MS = 2 * HEARTBEAT_MS;
// How long a stopping speaker waits for its leave messages to go out.
const LEAVE_WAIT_MS = 500;
// MetalLB rescans interfaces every 10 s and keeps its ARP socket across a link flap. Here a
// link going down ends the socket (ENETDOWN ends libuv's read), so look again every second:
// a node whose link comes back must be able to answer and send its gratuitous ARP promptly.
const INTERFACE_SCAN_MS = 1000;
// announcer.go spamLoop: first round at once, then every 1100 ms (metallb issue #172) until 5 s
// after the last request to announce.
const SPAM_EVERY_MS = 1100;
const SPAM_FOR_MS = 5000;

// ---------------------------------------------------------------------------------------------
// Configuration and the state file

interface Config {
  node: string;
  interface: string;
  stateFile: string;
  memberlistPort: number;
  pidfile: string;
  log: string;
}

function loadConfig(file: string): Config {
  return readConfig(file, { node: 'name', interface: 'ifname', stateFile: 'path', memberlistPort: 'port', pidfile: 'path', log: 'path' }) as unknown as Config;
}

// ---------------------------------------------------------------------------------------------
// Logging: one JSON object per line, as MetalLB's go-kit logger writes them. fd 2 is the log file
// when daemonized, the terminal with --foreground; writes are synchronous.

type Level = 'info' | 'warn' | 'error';

function log(level: Level, fields: Record<string, unknown>): void {
  try {
    writeSync(2, `${JSON.stringify({ level, ts: new Date().toISOString(), ...fields })}\n`);
  } catch {
    /* nowhere left to complain to */
  }
}

// ---------------------------------------------------------------------------------------------
// The speaker

interface Heartbeat {
  node: string;
  incarnation: number;
  leave?: true;
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const ipField = (ips: readonly string[]) => ips.join(',');
const now = () => performance.now();

class Speaker {
  private state: StateFile;
  private readonly sock = dgram.createSocket('udp4');
  private readonly address: string;
  // memberlist's incarnation number. A restarted speaker has a higher one, so a leave from its
  // previous life (or a heartbeat sent just before it) cannot mark the new one dead.
  private readonly incarnation = Date.now();
  private readonly heard = new Map<string, { at: number; incarnation: number; address: string }>();
  private readonly left = new Map<string, number>();
  private joined = false;
  private arp: ArpSocket | null = null;
  /** service key -> its IPs, for the services this node announces. */
  private readonly announced = new Map<string, string[]>();
  /** Every IPv4 address this node answers ARP for. */
  private announcedIPs = new Set<string>();
  /** service key -> its Service and slices as last synced; a change means a sync, as an informer event would. */
  private readonly synced = new Map<string, string>();
  private readonly spam = new Map<string, number>();
  private spamTimer: NodeJS.Timeout | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private watch: StateWatch | null = null;
  private readonly statusFile: string;
  private status = '';
  private readonly complained = new Set<string>();
  readonly stats = { arpReplies: 0, gratuitous: 0 };

  constructor(private readonly cfg: Config) {
    this.state = readState(cfg.stateFile);
    const me = this.state.nodes.find((n) => n.name === cfg.node);
    if (!me) throw new Error(`node "${cfg.node}" is not in ${cfg.stateFile} (nodes: ${this.state.nodes.map((n) => n.name).join(', ') || 'none'})`);
    this.address = me.address;
    checkSysfs(cfg.interface);
    this.statusFile = `${cfg.pidfile.replace(/\.pid$/, '')}.status.json`;
  }

  /** Bind the membership port and open the ARP socket. Rejects with a one-line reason. */
  async start(): Promise<void> {
    const { address, cfg } = this;
    await new Promise<void>((res, rej) => {
      const onError = (e: NodeJS.ErrnoException) => {
        const why =
          e.code === 'EADDRNOTAVAIL'
            ? `${address} is not an address in this network namespace`
            : e.code === 'EADDRINUSE'
              ? `port ${cfg.memberlistPort} is already in use on ${address} (is a speaker already running?)`
              : (e.code ?? e.message);
        rej(new Error(`cannot bind UDP ${address}:${cfg.memberlistPort}: ${why}`));
      };
      this.sock.once('error', onError);
      this.sock.bind({ address, port: cfg.memberlistPort, exclusive: true }, () => {
        this.sock.off('error', onError);
        this.sock.on('error', (e) => log('error', { op: 'memberlist', error: e.message, msg: 'UDP socket error' }));
        res();
      });
    });
    this.scanInterface(true);
    const e = this.writeStatus();
    if (e) throw new Error(e);
  }

  /** Start the clocks: heartbeats, the join wait, the state file watch, the interface scan. */
  run(): void {
    this.sock.on('message', (msg, rinfo) => this.onHeartbeat(msg, rinfo.address));
    void this.heartbeat();
    const every = (ms: number, f: () => void) => this.timers.push(setInterval(f, ms));
    every(HEARTBEAT_MS, () => void this.heartbeat());
    every(SWEEP_MS, () => this.sweep());
    every(INTERFACE_SCAN_MS, () => this.scanInterface(false));
    if (this.peers().length === 0) this.join();
    else this.timers.push(setTimeout(() => this.join(), JOIN_MS));
    this.watch = watchState({
      stateFile: this.cfg.stateFile,
      sync: (state) => {
        this.state = state;
        // Someone who left the cluster is no longer a member.
        for (const name of this.heard.keys()) {
          if (!this.peers().some((p) => p.name === name)) this.heard.delete(name);
        }
        this.sync(false);
        return true;
      },
      warn: (msg) => log('warn', { op: 'watchState', file: this.cfg.stateFile, msg: `${msg}; keeping the last state read` }),
    });
  }

  /** memberlist Leave(): tell the peers, then close everything. */
  async stop(): Promise<void> {
    // Nothing may sync (and so rewrite the status file) from here on.
    this.sock.removeAllListeners('message');
    for (const t of this.timers) clearInterval(t);
    if (this.spamTimer) clearInterval(this.spamTimer);
    this.watch?.stop();
    this.arp?.close();
    this.arp = null;
    try {
      unlinkSync(this.statusFile);
    } catch {}
    // Sends complete asynchronously: wait for them (briefly) before closing the socket.
    const sent = this.sendAll({ node: this.cfg.node, incarnation: this.incarnation, leave: true });
    await Promise.race([sent, new Promise((res) => setTimeout(res, LEAVE_WAIT_MS))]);
    this.sock.close();
  }

  // -- membership -------------------------------------------------------------------------------

  private peers(): NodeInfo[] {
    return this.state.nodes.filter((n) => n.name !== this.cfg.node && n.address !== this.address);
  }

  alive(): string[] {
    return [this.cfg.node, ...this.heard.keys()].sort();
  }

  /** Resolves once the datagram is sent or has failed. */
  private send(peer: NodeInfo, msg: Heartbeat): Promise<void> {
    return new Promise((res) =>
      this.sock.send(JSON.stringify(msg), this.cfg.memberlistPort, peer.address, (e) => {
        res();
        const key = `heartbeat ${peer.name}`;
        if (!e) {
          this.complained.delete(key);
          return;
        }
        // Once per peer until a send to it works again (an unplugged node fails every 500 ms).
        if (this.complained.has(key)) return;
        this.complained.add(key);
        log('warn', {
          op: 'memberlist',
          'node name': peer.name,
          'node addr': peer.address,
          error: (e as NodeJS.ErrnoException).code ?? e.message,
          msg: 'failed to send heartbeat',
        });
      }),
    );
  }

  private sendAll(msg: Heartbeat): Promise<void> {
    return Promise.all(this.peers().map((p) => this.send(p, msg))).then(() => undefined);
  }

  private heartbeat(): Promise<void> {
    return this.sendAll({ node: this.cfg.node, incarnation: this.incarnation });
  }

  private onHeartbeat(msg: Buffer, from: string): void {
    let m: Partial<Heartbeat>;
    try {
      m = JSON.parse(msg.toString('utf8')) as Partial<Heartbeat>;
    } catch {
      return;
    }
    if (typeof m?.node !== 'string' || !Number.isSafeInteger(m.incarnation)) return;
    // Only known nodes, only from their own address.
    const peer = this.peers().find((p) => p.name === m.node);
    if (!peer || peer.address !== from) return;
    const incarnation = m.incarnation!;
    const leftAt = this.left.get(peer.name);
    if (leftAt !== undefined && incarnation <= leftAt) return;
    if (m.leave) {
      this.left.set(peer.name, incarnation);
      if (this.heard.delete(peer.name)) this.memberEvent(peer.name, peer.address, 'NodeLeave');
      return;
    }
    const known = this.heard.has(peer.name);
    this.heard.set(peer.name, { at: now(), incarnation, address: from });
    if (known) return;
    // A newcomer hears from us at once (memberlist's push/pull on join), not up to 500 ms later.
    void this.send(peer, { node: this.cfg.node, incarnation: this.incarnation });
    this.memberEvent(peer.name, from, 'NodeJoin');
  }

  private sweep(): void {
    const deadline = now() - DEAD_AFTER_MS;
    for (const [name, h] of this.heard) {
      if (h.at >= deadline) continue;
      this.heard.delete(name);
      this.memberEvent(name, h.address, 'NodeLeave');
    }
  }

  /** speakerlist: every membership change forces a sync of every service. */
  private memberEvent(name: string, address: string, event: 'NodeJoin' | 'NodeLeave'): void {
    log('info', { msg: 'node event - forcing sync', 'node addr': address, 'node name': name, 'node event': event });
    if (!this.joined && this.peers().every((p) => this.heard.has(p.name))) this.join();
    else this.sync(true);
  }

  private join(): void {
    if (this.joined) return;
    this.joined = true;
    this.sync(true);
  }

  // -- election and announcing ------------------------------------------------------------------

  /**
   * Decide every service again. A service is synced (and so re-announced when ours, which
   * restarts its gratuitous ARP, as SetBalancer -> doSpam does) when it or its slices changed,
   * or on any membership change (`all`).
   */
  private sync(all: boolean): void {
    if (!this.joined) return;
    const { services, slices } = this.state.state;
    const decisions = new Map(l2Decisions(this.state.state, this.alive(), this.state.lbPool).map((d) => [d.service, d]));
    for (const [key, ips] of this.announced) {
      if (decisions.has(key)) continue;
      const svc = services.find((s) => `${s.meta.namespace}/${s.meta.name}` === key);
      const reason = !svc
        ? 'serviceDeleted'
        : svc.type !== 'LoadBalancer'
          ? 'notLoadBalancer'
          : svc.loadBalancerIngress.length
            ? 'ipNotAllowed'
            : 'noIPAllocated';
      this.withdraw(key, ips, reason);
    }
    for (const key of this.synced.keys()) if (!decisions.has(key)) this.synced.delete(key);
    for (const d of decisions.values()) {
      const svc = services.find((s) => `${s.meta.namespace}/${s.meta.name}` === d.service)!;
      const seen = JSON.stringify([svc, slicesOf(svc, slices)]);
      const changed = all || this.synced.get(d.service) !== seen;
      this.synced.set(d.service, seen);
      const current = this.announced.get(d.service);
      if (current && !sameList(current, d.ips)) this.withdraw(d.service, current, 'loadBalancerIPChanged');
      if (d.leader !== this.cfg.node) {
        if (this.announced.has(d.service)) this.withdraw(d.service, this.announced.get(d.service)!, 'notOwner');
      } else if (!this.announced.has(d.service)) {
        this.announced.set(d.service, d.ips);
        this.refreshIPs();
        log('info', { event: 'nodeAssigned', service: d.service, ip: ipField(d.ips), msg: `announcing from node "${this.cfg.node}" with protocol "layer2"` });
        for (const ip of d.ips) {
          // NDP (IPv6) is not spoken here.
          if (!isIPv4(ip)) log('warn', { op: 'setBalancer', service: d.service, ip, msg: 'not an IPv4 address: not announced (no NDP)' });
        }
        this.spamAll(d.ips);
      } else if (changed) {
        this.spamAll(d.ips);
      }
    }
    const e = this.writeStatus();
    if (e) this.complainOnce('status', () => log('error', { op: 'writeStatus', error: e, msg: 'status file not updated' }));
    else this.complained.delete('status');
  }

  private withdraw(key: string, ips: string[], reason: string): void {
    this.announced.delete(key);
    this.refreshIPs();
    log('info', { event: 'serviceWithdrawn', service: key, ip: ipField(ips), reason, msg: 'withdrawing service announcement' });
  }

  private refreshIPs(): void {
    this.announcedIPs = new Set([...this.announced.values()].flat().filter(isIPv4));
  }

  private spamAll(ips: readonly string[]): void {
    for (const ip of ips) if (isIPv4(ip)) this.doSpam(ip);
  }

  /** announcer.go spamLoop: a known IP has its end moved 5 s on; a new one goes out at once. */
  private doSpam(ip: string): void {
    const fresh = !this.spam.has(ip);
    this.spam.set(ip, now() + SPAM_FOR_MS);
    this.spamTimer ??= setInterval(() => this.spamTick(), SPAM_EVERY_MS);
    if (fresh) this.gratuitous(ip);
  }

  private spamTick(): void {
    const t = now();
    for (const [ip, until] of this.spam) {
      if (t > until) this.spam.delete(ip);
      else this.gratuitous(ip);
    }
    if (this.spam.size === 0 && this.spamTimer) {
      clearInterval(this.spamTimer);
      this.spamTimer = null;
    }
  }

  /** A gratuitous request and a gratuitous reply, unless we lost the IP meanwhile. */
  private gratuitous(ip: string): void {
    const arp = this.arp;
    if (!arp || !this.announcedIPs.has(ip)) return;
    for (const op of [ARP_REQUEST, ARP_REPLY] as const) {
      const e = arp.send(buildArp(gratuitousArp(op, arp.mac, ip)));
      if (e === 0) this.stats.gratuitous++;
      else
        this.complainOnce(`gratuitous ${errname(e)}`, () =>
          log('error', { op: 'gratuitousAnnounce', ip, interface: arp.ifname, error: errname(e), msg: 'failed to make gratuitous ARP announcement' }),
        );
    }
  }

  private readonly onFrame = (buf: Buffer, len: number): void => {
    const arp = this.arp;
    const f = arp && parseArp(buf, len);
    if (!arp || !f || !shouldReply(f, arp.mac, this.announcedIPs)) return;
    const e = arp.send(buildArp(arpReply(f, arp.mac)));
    if (e === 0) this.stats.arpReplies++;
    else
      this.complainOnce(`reply ${errname(e)}`, () =>
        log('error', { op: 'arpReply', interface: arp.ifname, ip: f.targetIP, senderIP: f.senderIP, error: errname(e), msg: 'failed to send ARP reply' }),
      );
  };

  /** announcer.go updateInterfaces, for our one interface. At startup a failure is fatal. */
  private scanInterface(startup: boolean): void {
    const name = this.cfg.interface;
    const st = interfaceState(name);
    const arp = this.arp;
    if (arp && (!st.eligible || st.index !== arp.ifindex || st.mac !== arp.mac)) {
      arp.close();
      this.arp = null;
      log('info', { interface: name, event: 'deleteARPResponder', msg: 'deleted ARP responder for interface' });
    }
    if (this.arp) return;
    if (!st.eligible) {
      if (startup) log('warn', { interface: name, msg: 'interface is down or not ARP-capable: no ARP responder until it is' });
      return;
    }
    try {
      const sock: ArpSocket = new ArpSocket(name, st.index, st.mac, this.onFrame, (why) => {
        if (this.arp === sock) this.arp = null;
        log('info', { interface: name, event: 'deleteARPResponder', reason: why, msg: 'deleted ARP responder for interface' });
      });
      this.arp = sock;
    } catch (e) {
      if (startup) throw e;
      this.complainOnce(`responder ${(e as Error).message}`, () =>
        log('error', { interface: name, op: 'createARPResponder', error: (e as Error).message, msg: 'failed to create ARP responder' }),
      );
      return;
    }
    log('info', { interface: name, event: 'createARPResponder', mac: st.mac, msg: 'created ARP responder for interface' });
  }

  private complainOnce(key: string, say: () => void): void {
    if (this.complained.has(key)) return;
    this.complained.add(key);
    say();
  }

  /** <pidfile without .pid>.status.json: who this node sees and what it announces. Null, or why not. */
  private writeStatus(): string | null {
    const status: SpeakerStatus = { node: this.cfg.node, alive: this.alive(), announcing: [...this.announcedIPs].sort() };
    const text = `${JSON.stringify(status)}\n`;
    if (text === this.status) return null;
    try {
      writeAtomic(this.statusFile, text);
      this.status = text;
      return null;
    } catch (e) {
      return `cannot write status file ${this.statusFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Agent plumbing: the agent runtime (ready pipe, pidfile, signals); the speaker logs JSON lines.

export const speakerAgent: Agent<Config> = {
  prog: PROG,
  load: loadConfig,
  log: (level, msg) =>
    level === 'I' ? log('info', { op: 'shutdown', msg }) : level === 'W' ? log('warn', { msg }) : log('error', { op: 'startup', error: msg }),
  async start(cfg) {
    const speaker = new Speaker(cfg);
    await speaker.start();
    return {
      run() {
        log('info', {
          op: 'startup',
          node: cfg.node,
          interface: cfg.interface,
          memberlist: `${cfg.memberlistPort}/udp`,
          msg: 'speaker started in layer2 mode',
        });
        speaker.run();
      },
      async stop(why) {
        await speaker.stop();
        log('info', { op: 'shutdown', msg: why, ...speaker.stats });
      },
    };
  },
};
