// The automerge-repo peer of FieldKit's "week offline" benchmark (see BENCHMARKS.md).
//
//   node bench.mjs --n 10000
//
// Two processes on loopback, like FieldKit's phone and server on two cores:
//   - the server (this file forked with --role server): an automerge-repo Repo with the
//     websocket server adapter and nodefs storage in a temp folder, sharePolicy "never
//     announce" (what automerge-repo-sync-server does);
//   - the client (this process): a Repo with nodefs storage in another temp folder and no
//     network. It creates N documents offline (one per record, 10 fields like a check-in),
//     flushes them to its storage, then connects to the server.
// The clock runs from the connection until the server's storage has written every one of
// the N documents (a snapshot or incremental chunk for each id; nodefs writes files
// without fsync). Bytes are counted on the server's side of the websocket, summed over every
// connection (the server's 5 s keep-alive drops a client too busy to answer a ping, and the
// client reconnects): frame payloads (what the adapters send) and raw TCP bytes (HTTP
// upgrade and frame headers too).
// Prints one JSON line on stdout.

import { fork } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { Repo } from "@automerge/automerge-repo";
import {
  WebSocketClientAdapter,
  WebSocketServerAdapter,
} from "@automerge/automerge-repo-network-websocket";
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs";
import { WebSocketServer } from "ws";

const args = parseArgs(process.argv.slice(2));

// automerge-repo rejects a DocHandle's whenReady() after 60 s; with thousands of documents
// queued on one Node thread some do, and unhandled that would kill the process. They are
// counted and reported instead (the documents concerned may still arrive later).
let unhandledRejections = 0;
let firstRejection = null;
process.on("unhandledRejection", (reason) => {
  unhandledRejections += 1;
  firstRejection ??= String(reason?.message ?? reason);
});
const N = Number(args.n ?? 10000);
const TIMEOUT_MS = Number(args["timeout-ms"] ?? 600000);

if (args.role === "server") {
  await runServer(args.dir, N);
} else {
  await runClient();
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (a.startsWith("--")) {
      out[a.slice(2)] = argv[i + 1];
      i += 1;
    }
  }
  return out;
}

/** A record like a FieldKit check-in: ten fields. */
function record(i) {
  return {
    kind: "check_in",
    customer_id: `0199a3b2-7c4e-7d10-8f00-${String(i).padStart(12, "0")}`,
    rep_id: "0199a3b2-7c4e-7d10-8f00-00000000aaaa",
    lat: 31.2304 + i * 1e-6,
    lng: 121.4737 + i * 1e-6,
    accuracy_m: 15,
    provider: "gnss",
    is_mock: false,
    device_ms: 1764201600000 + i,
    note: `visit ${i}`,
  };
}

async function runServer(dir, n) {
  let payloadIn = 0;
  let payloadOut = 0;
  let messagesIn = 0;
  let messagesOut = 0;
  const rawSockets = [];
  const stored = new Set();
  let reported = false;

  class CountingStorage extends NodeFSStorageAdapter {
    async save(key, binary) {
      await super.save(key, binary);
      if (key[1] === "snapshot" || key[1] === "incremental") {
        stored.add(key[0]);
        if (!reported && stored.size >= n) {
          reported = true;
          process.send({ type: "done", counts: counts() });
        }
      }
    }
  }

  function counts() {
    return {
      docs_stored: stored.size,
      payload_bytes_in: payloadIn,
      payload_bytes_out: payloadOut,
      messages_in: messagesIn,
      messages_out: messagesOut,
      connections: rawSockets.length,
      wire_bytes_in: rawSockets.reduce((sum, s) => sum + s.bytesRead, 0),
      wire_bytes_out: rawSockets.reduce((sum, s) => sum + s.bytesWritten, 0),
      server_max_rss_kb: process.resourceUsage().maxRSS,
      server_unhandled_rejections: unhandledRejections,
      server_first_rejection: firstRejection,
    };
  }

  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  wss.on("connection", (ws, req) => {
    rawSockets.push(req.socket);
    ws.on("message", (data) => {
      messagesIn += 1;
      payloadIn += data.byteLength ?? data.length;
    });
    const send = ws.send.bind(ws);
    ws.send = (data, ...rest) => {
      messagesOut += 1;
      payloadOut += data.byteLength ?? data.length;
      return send(data, ...rest);
    };
  });
  await new Promise((resolve) => wss.on("listening", resolve));
  const repo = new Repo({
    network: [new WebSocketServerAdapter(wss)],
    storage: new CountingStorage(dir),
    peerId: "bench-server",
    sharePolicy: async () => false,
  });
  process.on("message", async (msg) => {
    if (msg.type === "stop") {
      process.send({ type: "final", counts: counts() });
      await repo.shutdown().catch(() => {});
      wss.close();
      process.exit(0);
    }
  });
  process.send({ type: "listening", port: wss.address().port });
}

async function runClient() {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "fieldkit-am-bench-"));
  const serverDir = path.join(base, "server");
  const clientDir = path.join(base, "client");
  const self = fileURLToPath(import.meta.url);
  const server = fork(self, ["--role", "server", "--dir", serverDir, "--n", String(N)], {
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const messages = [];
  const waiters = [];
  server.on("message", (m) => {
    const i = waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) {
      waiters.splice(i, 1)[0].resolve(m);
    } else {
      messages.push(m);
    }
  });
  const next = (type) =>
    new Promise((resolve, reject) => {
      const i = messages.findIndex((m) => m.type === type);
      if (i >= 0) {
        resolve(messages.splice(i, 1)[0]);
        return;
      }
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${type}`)), TIMEOUT_MS);
      waiters.push({
        type,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });

  try {
    const { port } = await next("listening");
    const repo = new Repo({
      storage: new NodeFSStorageAdapter(clientDir),
      network: [],
      peerId: "bench-client",
    });

    const createStart = performance.now();
    for (let i = 0; i < N; i += 1) {
      repo.create(record(i));
    }
    await repo.flush();
    const createMs = performance.now() - createStart;

    const syncStart = performance.now();
    repo.networkSubsystem.addNetworkAdapter(new WebSocketClientAdapter(`ws://127.0.0.1:${port}`));
    const done = await next("done");
    const syncMs = performance.now() - syncStart;

    server.send({ type: "stop" });
    const final = await next("final");
    const c = done.counts;
    const payload = c.payload_bytes_in + c.payload_bytes_out;
    const wire = c.wire_bytes_in + c.wire_bytes_out;
    const out = {
      peer: "automerge-repo",
      records: N,
      create_ms: round(createMs),
      sync_ms: round(syncMs),
      payload_bytes_up: c.payload_bytes_in,
      payload_bytes_down: c.payload_bytes_out,
      payload_bytes: payload,
      payload_bytes_per_record: round(payload / N),
      wire_bytes: wire,
      wire_bytes_per_record: round(wire / N),
      messages: c.messages_in + c.messages_out,
      connections: c.connections,
      messages_after_stop: final.counts.messages_in + final.counts.messages_out,
      client_max_rss_kb: process.resourceUsage().maxRSS,
      server_max_rss_kb: final.counts.server_max_rss_kb,
      unhandled_rejections: final.counts.server_unhandled_rejections + unhandledRejections,
      first_rejection: final.counts.server_first_rejection ?? firstRejection,
      node: process.version,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    await repo.shutdown().catch(() => {});
  } finally {
    server.kill();
    fs.rmSync(base, { recursive: true, force: true });
  }
  process.exit(0);
}

function round(x) {
  return Math.round(x * 10) / 10;
}
