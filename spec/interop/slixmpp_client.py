#!/usr/bin/python3
"""A reference XMPP client on slixmpp (Debian python3-slixmpp), for lxmpp's
interop tests and benchmarks. Run it with /usr/bin/python3.

  slixmpp_client.py [options] login JID PASSWORD [JID PASSWORD ...]
      Logs in with each account in turn, then closes the stream.
      One line per account:
      {"event": "login", "jid": ..., "ok": true, "bound": full JID,
       "mechanism": used, "offered": [mechanisms after TLS], "tls": version,
       "certificate": [the DNS names of the server certificate slixmpp
       verified], "seconds": connect to session start}
      or {"event": "login", "jid": ..., "ok": false, "condition": ...}.
  slixmpp_client.py [options] exchange JID PASSWORD JID2 PASSWORD2
      Logs both in; the first sends --count messages to the second's full
      JID; the second checks that each arrives, in order, unaltered:
      {"event": "exchange", "sent": n, "received": n, "seconds": s,
       "per_second": r, "cpu_seconds": this process's CPU time meanwhile}
  slixmpp_client.py [options] --muc ROOM_DOMAIN social JID PASSWORD JID2 PASSWORD2
      Logs both in (resources "home" and "work"), each gets its roster and
      sends its presence; the first adds the
      second to its roster (name "Bob", group "Friends") and asks for its
      presence (the second approves and asks back, slixmpp's default); the
      second sets its presence (away, "at lunch"); both join the room
      lobby@ROOM_DOMAIN and the first says "hello room"; the first sends
      the second a chat message. One line, what each side saw:
      {"event": "social", "ok": true, "roster": {"subscription", "name",
       "groups"}, "presence": {"from", "show", "status"}, "occupants":
       [nicks the second sees], "groupchat": {"from", "body"},
       "chat": {"from", "body"}}
  slixmpp_client.py [options] --component DOMAIN:SECRET:PORT component JID PASSWORD
      Connects an external component (XEP-0114) for DOMAIN that answers
      every message with its body reversed, logs the account in, and
      sends echo@DOMAIN "hello component". One line:
      {"event": "component", "ok": true, "from": ..., "body": ...}
  slixmpp_client.py [options] --component DOMAIN:SECRET:PORT component-refused
      Connects an external component for DOMAIN that the server is expected
      to refuse. One line: {"event": "component-refused", "ok": true,
      "condition": the stream error's condition} (ok false when the
      handshake succeeded).
  slixmpp_client.py [options] --target FULL_JID discover JID PASSWORD
      Logs in as JID/disco with disco, caps, version and time, sends
      FULL_JID a directed presence, and asks it disco#info (and the node
      "no-such-node"), the items of node "bot-items", its version and its
      time; waits for its message "bye". One line: {"event": "discover",
      "ok": true, "caps": {"ver", "hash", "node", "verified" (the ver
      slixmpp checked, or null)}, "identities", "features", "items",
      "missing" (the error condition), "version", "time": {"tzo", "utc"}}
  slixmpp_client.py [options] --target FULL_JID adhoc JID PASSWORD
      Logs in as JID/adhoc and runs FULL_JID's XEP-0050 commands as
      examples/adhoc_bot.lua offers them: "greet" (next, prev, next,
      complete) and "roll" (20 sides, 3 dice), then a step of a session
      that does not exist. One line: {"event": "adhoc", "ok": true,
      "listed", "first", "second", "back", "done", "roll", "refused"}
  slixmpp_client.py [options] sm JID PASSWORD JID2 PASSWORD2
      XEP-0198 (xep_0198): the second enables stream management with
      resumption, its connection is cut (no </stream:stream>), the first
      sends it --count messages "while cut N", and the second reconnects
      and resumes. One line: {"event": "sm", "ok": resumed, "previd",
      "jid", "resumed_jid", "bodies": what the second received, in order}

Options: --host, --port (where the JID's domain is: slixmpp connects by
the domain, its DNS answered by get_dns_records, so that it sends the domain
as SNI and checks the certificate against it; given an IP address,
slixmpp 1.8.3 checks no name), --cafile (the CA to verify the server against),
--mech (the only SASL mechanism to use), --certfile and --keyfile (a client
certificate, for --mech EXTERNAL), --tls-max 1.2 (to see -PLUS
mechanisms that need tls-unique), --direct-tls, --resource, --count,
--keep-trying (after a SASL failure, go on with the next mechanism as
slixmpp does on its own; "failures" lists each condition and text),
--timeout (seconds for the whole run, default 30; on expiry prints
{"event": "timeout"} and exits 2). Exit status 0 when every step went as
described, 1 otherwise.
"""
import argparse
import asyncio
import json
import logging
import ssl
import sys
import time

import slixmpp


def emit(**fields):
    print(json.dumps(fields), flush=True)


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password, args):
        super().__init__(jid, password, sasl_mech=args.mech)
        self.args = args
        self.ca_certs = args.cafile
        # a client certificate, for SASL EXTERNAL (XEP-0178)
        self.certfile, self.keyfile = args.certfile, args.keyfile
        if args.tls_max == "1.2":
            self.ssl_context.maximum_version = ssl.TLSVersion.TLSv1_2
        self.outcome = asyncio.get_event_loop().create_future()
        self.add_event_handler("session_start", lambda _: self.settle("ok", None))
        self.failures = []
        self.add_event_handler("failed_auth", self.on_failed_auth)
        self.add_event_handler("failed_all_auth", lambda _: self.settle("failed", "no mechanism left"))
        self.add_event_handler("connection_failed", lambda e: self.settle("failed", "connection: %s" % e))
        self.add_event_handler("disconnected", lambda _: self.settle("failed", "disconnected"))

    async def get_dns_records(self, domain, port=None):
        # slixmpp's resolver hook: the JID's domain is at --host:--port
        if domain != self.boundjid.domain:
            return []
        return [(domain, self.args.host, self.args.port)]

    def on_failed_auth(self, failure):
        self.failures.append({"condition": failure["condition"], "text": failure["text"]})
        if not self.args.keep_trying:
            self.settle("failed", failure["condition"])

    def settle(self, status, detail):
        if not self.outcome.done():
            self.outcome.set_result((status, detail))

    async def start(self):
        """Connects and waits for the session or its failure; returns a report."""
        started = time.monotonic()
        self.connect(use_ssl=self.args.direct_tls)  # by the JID's domain: get_dns_records
        status, detail = await self.outcome
        report = {"jid": str(self.boundjid.bare), "ok": status == "ok", "failures": self.failures}
        if status != "ok":
            report["condition"] = detail
            return report
        mechanisms = self["feature_mechanisms"]
        tls = self.transport.get_extra_info("ssl_object")
        peer = (tls and tls.getpeercert()) or {}
        names = [value for kind, value in peer.get("subjectAltName", ()) if kind == "DNS"]
        report.update(bound=str(self.boundjid.full), mechanism=mechanisms.mech.name,
                      offered=sorted(mechanisms.mech_list), tls=tls and tls.version(), certificate=names,
                      seconds=time.monotonic() - started)
        return report

    async def stop(self):
        await self.disconnect(wait=5)


def client(args, jid, password, resource=None):
    if resource or args.resource:
        jid = "%s/%s" % (jid, resource or args.resource)
    return Client(jid, password, args)


async def login(args, accounts):
    ok = True
    for jid, password in accounts:
        c = client(args, jid, password)
        report = await c.start()
        emit(event="login", **report)
        ok = ok and report["ok"]
        if report["ok"]:
            await c.stop()
        else:
            c.abort()
    return ok


async def exchange(args, accounts):
    (jid1, pw1), (jid2, pw2) = accounts
    sender, receiver = client(args, jid1, pw1, "sender"), client(args, jid2, pw2, "receiver")
    for c in (sender, receiver):
        report = await c.start()
        if not report["ok"]:
            emit(event="exchange", ok=False, jid=report["jid"], condition=report["condition"])
            return False
    done = asyncio.get_event_loop().create_future()
    received = 0

    def on_message(msg):
        nonlocal received
        if msg["body"] != "message %d" % received or msg["from"] != sender.boundjid:
            if not done.done():
                done.set_result("unexpected message %r from %s" % (msg["body"], msg["from"]))
            return
        received += 1
        if received == args.count and not done.done():
            done.set_result(None)

    receiver.add_event_handler("message", on_message)
    started, cpu_started = time.monotonic(), time.process_time()
    for i in range(args.count):
        sender.send_message(mto=receiver.boundjid, mbody="message %d" % i, mtype="chat")
    problem = await done
    seconds, cpu_seconds = time.monotonic() - started, time.process_time() - cpu_started
    emit(event="exchange", ok=problem is None, sent=args.count, received=received, seconds=seconds,
         per_second=received / seconds if seconds > 0 else None, cpu_seconds=cpu_seconds, problem=problem)
    await asyncio.gather(sender.stop(), receiver.stop())
    return problem is None


async def social(args, accounts):
    (jid1, pw1), (jid2, pw2) = accounts
    alice, bob = client(args, jid1, pw1, "home"), client(args, jid2, pw2, "work")
    for c in (alice, bob):
        c.register_plugin("xep_0045")
        report = await c.start()
        if not report["ok"]:
            emit(event="social", ok=False, jid=report["jid"], condition=report["condition"])
            return False
        await c.get_roster()
        c.send_presence()
    loop = asyncio.get_event_loop()
    subscribed, presence, chat, groupchat = (loop.create_future() for _ in range(4))
    bare_bob = bob.boundjid.bare

    def on_roster(_):
        item = alice.client_roster[bare_bob]
        if item["subscription"] == "both" and not subscribed.done():
            subscribed.set_result({"subscription": item["subscription"], "name": item["name"],
                                   "groups": sorted(item["groups"])})

    def on_presence(p):
        if p["from"] == bob.boundjid and p["show"] == "away" and not presence.done():
            presence.set_result({"from": str(p["from"]), "show": p["show"], "status": p["status"]})

    def on_message(m):
        if m["type"] == "chat" and not chat.done():
            chat.set_result({"from": str(m["from"]), "body": m["body"]})

    def on_groupchat(m):
        if m["body"] and not groupchat.done():
            groupchat.set_result({"from": str(m["from"]), "body": m["body"]})

    alice.add_event_handler("roster_update", on_roster)
    alice.add_event_handler("presence", on_presence)
    bob.add_event_handler("message", on_message)
    bob.add_event_handler("groupchat_message", on_groupchat)
    await alice.update_roster(bare_bob, name="Bob", groups=["Friends"])
    alice.send_presence_subscription(pto=bare_bob)
    roster = await subscribed
    bob.send_presence(pshow="away", pstatus="at lunch")
    seen = await presence
    room = "lobby@" + args.muc
    await alice.plugin["xep_0045"].join_muc_wait(room, "Alice", maxstanzas=0)
    await bob.plugin["xep_0045"].join_muc_wait(room, "Bob", maxstanzas=0)
    occupants = sorted(bob.plugin["xep_0045"].get_roster(room))
    alice.send_message(mto=room, mbody="hello room", mtype="groupchat")
    said = await groupchat
    alice.send_message(mto=bob.boundjid, mbody="see you at lunch", mtype="chat")
    message = await chat
    emit(event="social", ok=True, roster=roster, presence=seen, occupants=occupants, groupchat=said,
         chat=message)
    await asyncio.gather(alice.stop(), bob.stop())
    return True


async def component(args, accounts):
    (jid, password), = accounts
    domain, secret, port = args.component.split(":")
    comp = slixmpp.ComponentXMPP(domain, secret, args.host, int(port))
    connected = asyncio.get_event_loop().create_future()
    comp.add_event_handler("session_start", lambda _: connected.done() or connected.set_result(True))
    comp.add_event_handler("message", lambda m: m.reply(m["body"][::-1]).send())
    comp.connect()
    await connected
    user = client(args, jid, password, "home")
    report = await user.start()
    if not report["ok"]:
        emit(event="component", ok=False, jid=report["jid"], condition=report["condition"])
        return False
    answer = asyncio.get_event_loop().create_future()
    user.add_event_handler("message", lambda m: answer.done() or answer.set_result(m))
    user.send_message(mto="echo@" + domain, mbody="hello component", mtype="chat")
    m = await answer
    emit(event="component", ok=True, **{"from": str(m["from"]), "body": m["body"]})
    await user.stop()
    comp.disconnect()
    return True


async def component_refused(args, accounts):
    domain, secret, port = args.component.split(":")
    comp = slixmpp.ComponentXMPP(domain, secret, args.host, int(port))
    outcome = asyncio.get_event_loop().create_future()
    comp.add_event_handler("session_start", lambda _: outcome.done() or outcome.set_result(None))
    comp.add_event_handler("stream_error", lambda e: outcome.done() or outcome.set_result(e["condition"]))
    comp.connect()
    condition = await outcome
    emit(event="component-refused", ok=condition is not None, condition=condition)
    comp.disconnect()
    return condition is not None


async def discover(args, accounts):
    """Asks --target (an lxmpp bot) through disco, caps, version and time, then
    waits for its "bye" (it resolves our caps meanwhile)."""
    (jid, password), = accounts
    c = client(args, jid, password, "disco")
    for plugin in ("xep_0030", "xep_0092", "xep_0115", "xep_0202"):
        c.register_plugin(plugin)
    c["xep_0030"].add_feature("urn:example:slixmpp-only")
    report = await c.start()
    if not report["ok"]:
        emit(event="discover", ok=False, jid=report["jid"], condition=report["condition"])
        return False
    loop = asyncio.get_event_loop()
    target = slixmpp.JID(args.target)
    seen, bye = loop.create_future(), loop.create_future()
    c.add_event_handler("presence_available", lambda p: p["from"] == target and not seen.done() and seen.set_result(p))
    c.add_event_handler("message", lambda m: m["body"] == "bye" and not bye.done() and bye.set_result(m))
    await c["xep_0115"].update_caps()  # our ver, before the presence that carries it
    c.send_presence(pto=target)  # directed: carries our caps
    presence = await asyncio.wait_for(seen, args.timeout)
    ver = None
    for _ in range(int(args.timeout * 10)):  # caps resolve in the background
        ver = await c["xep_0115"].get_verstring(target)
        if ver:
            break
        await asyncio.sleep(0.1)
    info = (await c["xep_0030"].get_info(jid=target))["disco_info"]
    items = (await c["xep_0030"].get_items(jid=target, node="bot-items"))["disco_items"]
    missing = None
    try:
        await c["xep_0030"].get_info(jid=target, node="no-such-node")
    except slixmpp.exceptions.IqError as e:
        missing = e.iq["error"]["condition"]
    version = (await c["xep_0092"].get_version(target))["software_version"]
    entity_time = (await c["xep_0202"].get_entity_time(target)).xml.find("{urn:xmpp:time}time")
    await asyncio.wait_for(bye, args.timeout)
    emit(event="discover", ok=True, caps={"ver": presence["caps"]["ver"], "hash": presence["caps"]["hash"],
                                          "node": presence["caps"]["node"], "verified": ver},
         identities=[list(i) for i in info["identities"]], features=sorted(info["features"]),
         items=[list(i) for i in items["items"]], missing=missing,
         version={"name": version["name"], "version": version["version"], "os": version["os"] or None},
         time={"tzo": entity_time.findtext("{urn:xmpp:time}tzo"), "utc": entity_time.findtext("{urn:xmpp:time}utc")})
    await c.stop()
    return True


async def adhoc(args, accounts):
    """Lists --target's ad-hoc commands and runs "greet" (two steps, prev
    included) and "roll" with slixmpp's xep_0050, then a node it may not."""
    (jid, password), = accounts
    c = client(args, jid, password, "adhoc")
    for plugin in ("xep_0004", "xep_0030", "xep_0050"):
        c.register_plugin(plugin)
    report = await c.start()
    if not report["ok"]:
        emit(event="adhoc", ok=False, jid=report["jid"], condition=report["condition"])
        return False
    target, commands = args.target, c["xep_0050"]

    def fields(command):
        """var -> [values] of the command's form, read from its XML."""
        x = command.xml.find("{jabber:x:data}x")
        return {f.get("var"): [v.text for v in f.findall("{jabber:x:data}value")]
                for f in x.findall("{jabber:x:data}field")}

    def submit(**values):
        form = c["xep_0004"].make_form(ftype="submit")
        for var, value in values.items():
            form.add_field(var=var, value=value, ftype="boolean" if isinstance(value, bool) else None)
        return form

    listed = (await commands.get_commands(target))["disco_items"]["items"]
    first = (await commands.send_command(target, "greet"))["command"]
    session = first["sessionid"]
    second = (await commands.send_command(target, "greet", action="next", payload=submit(name="Slix"),
                                          sessionid=session))["command"]
    back = (await commands.send_command(target, "greet", action="prev", sessionid=session))["command"]
    await commands.send_command(target, "greet", action="next", payload=submit(name="Slixmpp"), sessionid=session)
    done = (await commands.send_command(target, "greet", action="complete", payload=submit(shout=True),
                                        sessionid=session))["command"]
    roll = (await commands.send_command(target, "roll"))["command"]
    rolled = (await commands.send_command(target, "roll", action="complete", payload=submit(sides="20", count="3"),
                                          sessionid=roll["sessionid"]))["command"]
    refused = None
    try:
        await commands.send_command(target, "greet", sessionid="not-a-session", action="next")
    except slixmpp.exceptions.IqError as e:
        refused = e.iq["error"]["condition"]
    items = [{f.get("var"): f.findtext("{jabber:x:data}value") for f in item}
             for item in rolled.xml.iterfind("{jabber:x:data}x/{jabber:x:data}item")]
    emit(event="adhoc", ok=True, listed=sorted(list(i) for i in listed),
         first={"status": first["status"], "actions": sorted(first["actions"]),
                "fields": sorted(fields(first))},
         second={"actions": sorted(second["actions"]), "fields": sorted(fields(second))},
         back=fields(back)["name"][0],
         done={"status": done["status"], "notes": [list(n) for n in done["notes"]]},
         roll={"options": [o.findtext("{jabber:x:data}value")
                           for o in roll.xml.iterfind(".//{jabber:x:data}field[@var='sides']/{jabber:x:data}option")],
               "status": rolled["status"], "rows": len(items),
               "values": sorted(int(item["value"]) for item in items)},
         refused=refused)
    await c.stop()
    return True


async def sm(args, accounts):
    """XEP-0198 with slixmpp's xep_0198: the receiver enables it with
    resumption; its connection is cut (no </stream:stream>); the sender
    sends args.count messages meanwhile; the receiver reconnects and
    resumes: every message once, in order."""
    (jid1, pw1), (jid2, pw2) = accounts
    sender, receiver = client(args, jid1, pw1, "sender"), client(args, jid2, pw2, "receiver")
    receiver.register_plugin("xep_0198")
    loop = asyncio.get_event_loop()
    enabled, resumed = loop.create_future(), loop.create_future()
    receiver.add_event_handler("sm_enabled", lambda _: enabled.done() or enabled.set_result(True))
    receiver.add_event_handler("session_resumed", lambda _: resumed.done() or resumed.set_result(True))
    receiver.add_event_handler("sm_failed", lambda _: resumed.done() or resumed.set_result(False))
    bodies, done = [], loop.create_future()

    def on_message(msg):
        bodies.append(msg["body"])
        if len(bodies) >= args.count and not done.done():
            done.set_result(None)

    receiver.add_event_handler("message", on_message)
    for c in (sender, receiver):
        report = await c.start()
        if not report["ok"]:
            emit(event="sm", ok=False, jid=report["jid"], condition=report["condition"])
            return False
    await enabled
    previd, full = receiver["xep_0198"].sm_id, receiver.boundjid.full
    receiver.transport.abort()  # the connection dies: no </stream:stream>
    await asyncio.sleep(0.5)
    for i in range(args.count):
        sender.send_message(mto=full, mbody="while cut %d" % i, mtype="chat")
    await asyncio.sleep(0.5)
    receiver.connect(use_ssl=args.direct_tls)
    ok = await resumed
    if ok:
        await done
    emit(event="sm", ok=ok, previd=previd, jid=full, resumed_jid=receiver.boundjid.full, bodies=bodies)
    await asyncio.gather(sender.stop(), receiver.stop())
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5222)
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--mech")
    parser.add_argument("--certfile")
    parser.add_argument("--keyfile")
    parser.add_argument("--tls-max", choices=["1.2", "1.3"], default="1.3")
    parser.add_argument("--direct-tls", action="store_true")
    parser.add_argument("--keep-trying", action="store_true")
    parser.add_argument("--resource")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--muc")
    parser.add_argument("--component")
    parser.add_argument("--target")
    parser.add_argument("--debug", action="store_true")
    parser.add_argument("mode", choices=["login", "exchange", "social", "component", "component-refused",
                                         "discover", "adhoc", "sm"])
    parser.add_argument("credentials", nargs="*")
    args = parser.parse_args()
    if len(args.credentials) % 2:
        parser.error("credentials come in JID PASSWORD pairs")
    accounts = list(zip(args.credentials[0::2], args.credentials[1::2]))
    if args.mode in ("exchange", "social", "sm") and len(accounts) != 2:
        parser.error(args.mode + " takes two accounts")
    if not accounts and args.mode != "component-refused":
        parser.error(args.mode + " takes an account")
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.CRITICAL, stream=sys.stderr)
    run = {"login": login, "exchange": exchange, "social": social, "component": component,
           "component-refused": component_refused, "discover": discover, "adhoc": adhoc, "sm": sm}[args.mode]
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        ok = loop.run_until_complete(asyncio.wait_for(run(args, accounts), args.timeout))
    except asyncio.TimeoutError:
        emit(event="timeout")
        sys.exit(2)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
