#!/usr/bin/python3
"""The client matrix's slixmpp driver (Debian python3-slixmpp).

  slixmpp_driver.py HOST PORT DOMAIN CAFILE USER_A PASS_A USER_B PASS_B

Logs both accounts in over STARTTLS (the certificate verified against
CAFILE for DOMAIN), then B messages A's full and bare JID, A gets its
roster, A subscribes to B's presence and B approves, A asks the server for
disco#info and pings it, and both close. One line per step, as
spec/interop/clients_spec.lua reads them:
  step NAME ok|fail DETAIL      info KEY VALUE
"""
import asyncio

import slixmpp

from transcript import CAFILE, DOMAIN, HOST, PASS_A, PASS_B, PORT, TIMEOUT, USER_A, USER_B, expect, run_asyncio, say, step


class Client(slixmpp.ClientXMPP):
    def __init__(self, label, user, password):
        super().__init__("%s@%s/matrix-%s" % (user, DOMAIN, label), password)
        self.label = label
        self.ca_certs = CAFILE
        self.roster.auto_authorize = None  # the driver answers by hand (False: refuse)
        self.roster.auto_subscribe = False
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0199")
        loop = asyncio.get_event_loop()
        self.session = loop.create_future()
        self.inbox = asyncio.Queue()
        self.presences = asyncio.Queue()
        self.closed = loop.create_future()
        self.add_event_handler("session_start", lambda _: self.settle(True, ""))
        # a failed mechanism is not the end: slixmpp goes on with the next
        self.failures = []
        self.tls = None  # the version, noted while the transport is there
        self.add_event_handler("failed_auth", lambda st: self.note_tls() or self.failures.append(st["condition"]))
        self.add_event_handler("session_start", lambda _: self.note_tls())
        self.add_event_handler("failed_all_auth", lambda _: self.settle(False, "no mechanism left"))
        self.add_event_handler("connection_failed", lambda e: self.settle(False, "connection %s" % e))
        self.add_event_handler("disconnected", self.on_disconnected)
        self.add_event_handler("message", self.inbox.put_nowait)
        for kind in ("presence_subscribe", "presence_subscribed", "presence_available"):
            self.add_event_handler(kind, self.presences.put_nowait)

    async def get_dns_records(self, domain, port=None):
        # The test's resolver: DOMAIN is at HOST:PORT. So slixmpp connects
        # as for a user, by the JID's domain, and STARTTLS sends it as SNI
        # and checks the certificate against it (RFC 6120 13.7.2.1). Given
        # an IP address (connect((HOST, PORT))), slixmpp 1.8.3 checks no
        # name at all: any certificate from the CA would do.
        return [(DOMAIN, HOST, int(PORT))] if domain == DOMAIN else []

    def note_tls(self):
        ssl = self.transport and self.transport.get_extra_info("ssl_object")
        self.tls = self.tls or (ssl and ssl.version())

    def settle(self, ok, detail):
        if not self.session.done():
            self.session.set_result((ok, detail))

    def on_disconnected(self, reason):
        self.settle(False, "disconnected %s" % reason)
        if not self.closed.done():
            self.closed.set_result(reason)

    async def login(self):
        self.connect()  # by the JID's domain, found by get_dns_records
        ok, detail = await self.session
        step("tls:" + self.label, bool(self.tls), self.tls or detail)
        mechanisms = self["feature_mechanisms"]
        mech = mechanisms.mech.name if ok and mechanisms.mech else None
        step("auth:" + self.label, ok, " ".join(filter(None, [mech, detail] + [
            "failed: " + " ".join(self.failures)] * bool(self.failures))))
        step("bind:" + self.label, ok, self.boundjid.full if ok else detail)
        if ok:
            say("info", "mechanisms", " ".join(sorted(mechanisms.mech_list)))
            self.send_presence()  # available, so that messages to the bare JID reach it
        return ok


async def run():
    say("info", "version", slixmpp.__version__)
    a, b = Client("a", USER_A, PASS_A), Client("b", USER_B, PASS_B)
    if not await a.login() or not await b.login():
        return
    for name, to in (("message-full", a.boundjid.full), ("message-bare", a.boundjid.bare)):
        b.send_message(mto=to, mbody=name, mtype="chat")
        msg = await expect(a.inbox, lambda m: m["body"] == name)
        step(name, msg is not None and msg["from"] == b.boundjid,
             msg and "%s from %s" % (msg["body"], msg["from"]) or "nothing arrived")

    a.send_presence(pto=b.boundjid.bare, ptype="subscribe")
    request = await expect(b.presences, lambda p: p["from"].bare == a.boundjid.bare)
    if request is not None and request["type"] == "subscribe":
        b.send_presence(pto=request["from"].bare, ptype="subscribed")
        # RFC 6121 3.1.5/3.1.6: a 'subscribed', or B's presence now that A may see it
        answer = await expect(a.presences, lambda p: p["from"].bare == b.boundjid.bare and
                              p["type"] in ("subscribed", "available"))
        step("subscribe", answer is not None,
             "request from %s, answer %s from %s" % (request["from"], answer and answer["type"],
                                                   answer and answer["from"]))
    else:
        step("subscribe", False, "B got %s" % (request and request["type"]))

    try:
        roster = await a.get_roster(timeout=TIMEOUT)
        items = roster["roster"]["items"]
        step("roster", True, " ".join("%s=%s" % (j, items[j]["subscription"]) for j in sorted(items)))
    except (slixmpp.exceptions.IqError, slixmpp.exceptions.IqTimeout) as e:
        step("roster", False, describe(e))

    try:
        info = await a["xep_0030"].get_info(jid=DOMAIN, timeout=TIMEOUT)
        step("disco", True, " ".join(sorted(info["disco_info"]["features"])))
    except (slixmpp.exceptions.IqError, slixmpp.exceptions.IqTimeout) as e:
        step("disco", False, describe(e))

    try:
        await a["xep_0199"].send_ping(DOMAIN, timeout=TIMEOUT)
        step("ping", True)
    except (slixmpp.exceptions.IqError, slixmpp.exceptions.IqTimeout) as e:
        step("ping", False, describe(e))

    for c in (a, b):
        # slixmpp sends </stream:stream> and waits for the server's
        await c.disconnect(wait=TIMEOUT)
        try:
            await asyncio.wait_for(asyncio.shield(c.closed), TIMEOUT)
            step("close:" + c.label, True)
        except asyncio.TimeoutError:
            step("close:" + c.label, False, "no end of stream")


def describe(e):
    if isinstance(e, slixmpp.exceptions.IqError):
        return "error %s" % e.iq["error"]["condition"]
    return "timeout"


run_asyncio(run)
