// The client matrix's xmpp.js driver (@xmpp/client from npm, installed by
// tools/deps.sh into spec/interop/clients/node_modules; Node >= 20.10).
//
//   NODE_EXTRA_CA_CERTS=CAFILE node xmppjs.js HOST PORT DOMAIN CAFILE USER_A PASS_A USER_B PASS_B
//
// Node verifies the certificate against its CAs plus NODE_EXTRA_CA_CERTS
// (the only way to add one through @xmpp/client) for DOMAIN. The steps of
// spec/interop/clients_spec.lua, one line each:
//   step NAME ok|fail DETAIL      info KEY VALUE
import { readFileSync } from "node:fs";
import { client, xml } from "@xmpp/client";

const [HOST, PORT, DOMAIN, CAFILE, USER_A, PASS_A, USER_B, PASS_B] = process.argv.slice(2);
const TIMEOUT = 20000;

function step(name, ok, detail = "") {
  console.log(`step ${name} ${ok ? "ok" : "fail"} ${detail}`);
}

if (process.env.NODE_EXTRA_CA_CERTS !== CAFILE) {
  step("run", false, "NODE_EXTRA_CA_CERTS must name the CA file");
  process.exit(1);
}

// Resolves with the first value an event's handler accepts, or null after
// the timeout.
function waitFor(emitter, event, wanted) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      emitter.removeListener(event, on);
      resolve(null);
    }, TIMEOUT);
    function on(value) {
      if (!wanted(value)) return;
      clearTimeout(timer);
      emitter.removeListener(event, on);
      resolve(value);
    }
    emitter.on(event, on);
  });
}

async function login(label, username, password) {
  const xmpp = client({
    service: `xmpp://${HOST}:${PORT}`,
    domain: DOMAIN,
    resource: `matrix-${label}`,
    username,
    password,
    timeout: TIMEOUT,
  });
  xmpp.reconnect.stop(); // a failure is a failure, not a reason to retry
  let mechanism = "";
  xmpp.on("send", (el) => {
    if (el.name === "auth" || el.name === "authenticate") mechanism = el.attrs.mechanism;
    if (process.env.XMPPJS_TRACE) console.error("SEND", el.toString());
  });
  xmpp.on("element", (el) => {
    if (process.env.XMPPJS_TRACE) console.error("RECV", el.toString());
  });
  xmpp.on("error", (err) => console.error(`${label}: error`, err));
  xmpp.label = label;
  try {
    const address = await xmpp.start();
    const socket = xmpp.socket.socket;
    const version = typeof socket.getProtocol === "function" ? socket.getProtocol() : null;
    step(`tls:${label}`, version !== null && socket.authorized, `${version} authorized=${socket.authorized}`);
    step(`auth:${label}`, true, mechanism);
    step(`bind:${label}`, true, address.toString());
    xmpp.address = address;
    await xmpp.send(xml("presence")); // available, so messages to the bare JID reach it
    return xmpp;
  } catch (err) {
    for (const name of ["tls", "auth", "bind"]) step(`${name}:${label}`, false, `${mechanism} ${err}`);
    return null;
  }
}

async function request(xmpp, name, el, describe) {
  try {
    const answer = await xmpp.iqCaller.request(el, TIMEOUT);
    step(name, true, describe(answer));
  } catch (err) {
    step(name, false, err.condition ? `error ${err.condition}` : String(err));
  }
}

async function main() {
  const pkg = JSON.parse(readFileSync(new URL("node_modules/@xmpp/client/package.json", import.meta.url)));
  console.log(`info version ${pkg.version}`);
  const a = await login("a", USER_A, PASS_A);
  const b = a && (await login("b", USER_B, PASS_B));
  if (!a || !b) process.exit(1);
  const aFull = a.address.toString();
  const aBare = a.address.bare().toString();
  const bBare = b.address.bare().toString();

  for (const [name, to] of [["message-full", aFull], ["message-bare", aBare]]) {
    const got = waitFor(a, "stanza", (s) => s.is("message") && s.getChildText("body") === name);
    await b.send(xml("message", { to, type: "chat" }, xml("body", {}, name)));
    const msg = await got;
    step(name, msg !== null && msg.attrs.from === b.address.toString(),
      msg ? `${name} from ${msg.attrs.from}` : "nothing arrived");
  }

  const fromA = (s) => s.is("presence") && (s.attrs.from || "").split("/")[0] === aBare;
  const requested = waitFor(b, "stanza", fromA);
  await a.send(xml("presence", { to: bBare, type: "subscribe" }));
  const req = await requested;
  if (req && req.attrs.type === "subscribe") {
    // RFC 6121 3.1.5/3.1.6: a 'subscribed', or B's presence now that A may see it
    const answered = waitFor(a, "stanza", (s) => s.is("presence") &&
      (s.attrs.from || "").split("/")[0] === bBare && (!s.attrs.type || s.attrs.type === "subscribed"));
    await b.send(xml("presence", { to: aBare, type: "subscribed" }));
    const answer = await answered;
    step("subscribe", answer !== null,
      `request from ${req.attrs.from}, answer ${answer && (answer.attrs.type || "available")} from ${answer && answer.attrs.from}`);
  } else {
    step("subscribe", false, `B got ${req && req.attrs.type}`);
  }

  await request(a, "roster", xml("iq", { type: "get" }, xml("query", { xmlns: "jabber:iq:roster" })),
    (iq) => iq.getChild("query").getChildren("item").map((i) => `${i.attrs.jid}=${i.attrs.subscription}`).sort().join(" "));
  await request(a, "disco", xml("iq", { type: "get", to: DOMAIN },
    xml("query", { xmlns: "http://jabber.org/protocol/disco#info" })),
  (iq) => iq.getChild("query").getChildren("feature").map((f) => f.attrs.var).sort().join(" "));
  await request(a, "ping", xml("iq", { type: "get", to: DOMAIN }, xml("ping", { xmlns: "urn:xmpp:ping" })), () => "");

  for (const xmpp of [a, b]) {
    // stop() sends </stream:stream> and waits for the server's before closing
    const closed = waitFor(xmpp, "status", (s) => s === "offline");
    await xmpp.stop();
    const status = await closed;
    step(`close:${xmpp.label}`, status === "offline", status || "no end of stream");
  }
}

setTimeout(() => {
  step("run", false, "timeout");
  process.exit(1);
}, 60000).unref();
await main();
