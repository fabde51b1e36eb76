/**
 * Traps every way Node code can reach the network: TCP/IPC sockets (net.Socket#connect, net.connect/createConnection),
 * TLS, HTTP/1 and HTTP/2 clients, DNS lookups and resolvers, UDP sockets, fetch (undici inside Node) and WebSocket.
 * Each attempt is recorded (with what was called) and then thrown, so code that would talk to the network fails
 * loudly instead of waiting. Installed per thread: a worker needs its own (test/helpers/networkTrapWorker.ts).
 */
// The modules' own export objects (an `import * as` namespace is a frozen copy whose properties cannot be replaced).
/* eslint-disable @typescript-eslint/no-require-imports */
const dgram = require("node:dgram") as typeof import("node:dgram");
const dns = require("node:dns") as typeof import("node:dns");
const http = require("node:http") as typeof import("node:http");
const http2 = require("node:http2") as typeof import("node:http2");
const https = require("node:https") as typeof import("node:https");
const net = require("node:net") as typeof import("node:net");
const tls = require("node:tls") as typeof import("node:tls");
/* eslint-enable @typescript-eslint/no-require-imports */

export interface NetworkTrap {
  /** What was attempted, e.g. "net.Socket#connect 10.0.0.1:443". */
  readonly attempts: string[];
}

let installedTrap: NetworkTrap | null = null;

function describe(args: unknown[]): string {
  return args
    .filter((a) => typeof a !== "function")
    .map((a) => {
      try {
        return typeof a === "string" ? a : JSON.stringify(a)?.slice(0, 120);
      } catch {
        return String(a);
      }
    })
    .join(" ");
}

export function installNetworkTrap(onAttempt?: (what: string) => void): NetworkTrap {
  if (installedTrap) return installedTrap;
  const trap: NetworkTrap = { attempts: [] };
  installedTrap = trap;
  const patch = (target: object, key: string, label: string): void => {
    const holder = target as Record<string, unknown>;
    if (typeof holder[key] !== "function") return;
    Object.defineProperty(holder, key, {
      configurable: true,
      writable: true,
      value: (...args: unknown[]) => {
        const what = `${label} ${describe(args)}`.trim();
        trap.attempts.push(what);
        onAttempt?.(what);
        throw new Error(`Network access is not allowed in this test (${what}).`);
      },
    });
  };
  patch(net.Socket.prototype, "connect", "net.Socket#connect");
  patch(net, "connect", "net.connect");
  patch(net, "createConnection", "net.createConnection");
  patch(tls, "connect", "tls.connect");
  for (const [mod, name] of [
    [http, "http"],
    [https, "https"],
  ] as const) {
    patch(mod, "request", `${name}.request`);
    patch(mod, "get", `${name}.get`);
  }
  patch(http2, "connect", "http2.connect");
  for (const key of [
    "lookup",
    "lookupService",
    "resolve",
    "resolve4",
    "resolve6",
    "resolveAny",
    "resolveCname",
    "resolveMx",
    "resolveTxt",
    "resolveSrv",
    "reverse",
  ]) {
    patch(dns, key, `dns.${key}`);
    patch(dns.promises, key, `dns.promises.${key}`);
  }
  patch(dgram, "createSocket", "dgram.createSocket");
  patch(globalThis, "fetch", "fetch");
  patch(globalThis, "WebSocket", "WebSocket");
  return trap;
}
