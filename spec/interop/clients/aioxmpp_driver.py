#!/usr/bin/python3
"""The client matrix's aioxmpp driver (Debian python3-aioxmpp).

  aioxmpp_driver.py HOST PORT DOMAIN CAFILE USER_A PASS_A USER_B PASS_B

The steps of spec/interop/clients_spec.lua, one line each:
  step NAME ok|fail DETAIL      info KEY VALUE
"""
import asyncio

import aioxmpp
import aioxmpp.connector
import aioxmpp.disco
import aioxmpp.dispatcher
import aioxmpp.ping
import aioxmpp.roster.xso
import aioxmpp.security_layer

from transcript import CAFILE, DOMAIN, HOST, PASS_A, PASS_B, PORT, TIMEOUT, USER_A, USER_B, expect, run_asyncio, say, step



def ssl_context():
    # the default context (peer verification on, hostname checked against
    # the JID's domain by aioxmpp) trusting the test CA
    ctx = aioxmpp.security_layer.default_ssl_context()
    ctx.load_verify_locations(CAFILE)
    return ctx


class Account:
    def __init__(self, label, user, password):
        self.label = label
        jid = aioxmpp.JID.fromstr("%s@%s/matrix-%s" % (user, DOMAIN, label))
        security = aioxmpp.make_security_layer(password, ssl_context_factory=ssl_context)
        self.client = aioxmpp.Client(jid, security, override_peer=[
            (HOST, int(PORT), aioxmpp.connector.STARTTLSConnector())])
        self.inbox = asyncio.Queue()
        self.presences = asyncio.Queue()
        messages = self.client.summon(aioxmpp.dispatcher.SimpleMessageDispatcher)
        messages.register_callback(aioxmpp.MessageType.CHAT, None, self.inbox.put_nowait)
        presences = self.client.summon(aioxmpp.dispatcher.SimplePresenceDispatcher)
        for kind in (aioxmpp.PresenceType.SUBSCRIBE, aioxmpp.PresenceType.SUBSCRIBED,
                     aioxmpp.PresenceType.AVAILABLE):
            presences.register_callback(kind, None, self.presences.put_nowait)
        self.context = None

    async def login(self):
        self.context = self.client.connected(presence=aioxmpp.PresenceState(True))
        try:
            await asyncio.wait_for(self.context.__aenter__(), TIMEOUT)
        except Exception as e:  # the library's own exception says which step
            for name in ("tls", "auth", "bind"):
                step("%s:%s" % (name, self.label), False, "%s: %s" % (type(e).__name__, e))
            return False
        # STARTTLSConnector fails the connection unless TLS was negotiated
        # and the certificate verified; the client exposes no TLS details
        step("tls:" + self.label, True, "STARTTLSConnector")
        step("auth:" + self.label, True)
        step("bind:" + self.label, True, str(self.client.local_jid))
        return True

    async def close(self):
        closed = asyncio.get_event_loop().create_future()
        self.client.on_stopped.connect(lambda *_: closed.done() or closed.set_result(True))
        self.client.on_failure.connect(lambda e: closed.done() or closed.set_result(e))
        await self.context.__aexit__(None, None, None)
        try:
            result = await asyncio.wait_for(closed, TIMEOUT)
            step("close:" + self.label, result is True, "" if result is True else str(result))
        except asyncio.TimeoutError:
            step("close:" + self.label, False, "no end of stream")


def describe(e):
    if isinstance(e, aioxmpp.errors.XMPPError):
        return "error %s" % e.condition.value[1]
    return "%s %s" % (type(e).__name__, e)


async def run():
    say("info", "version", aioxmpp.__version__)
    a, b = Account("a", USER_A, PASS_A), Account("b", USER_B, PASS_B)
    if not await a.login() or not await b.login():
        return
    a_jid, b_jid = a.client.local_jid, b.client.local_jid
    for name, to in (("message-full", a_jid), ("message-bare", a_jid.bare())):
        msg = aioxmpp.Message(type_=aioxmpp.MessageType.CHAT, to=to)
        msg.body[None] = name
        await b.client.send(msg)
        got = await expect(a.inbox, lambda m: m.body.any() == name)
        step(name, got is not None and got.from_ == b_jid,
             got and "%s from %s" % (got.body.any(), got.from_) or "nothing arrived")

    await a.client.send(aioxmpp.Presence(type_=aioxmpp.PresenceType.SUBSCRIBE, to=b_jid.bare()))
    request = await expect(b.presences, lambda p: p.from_.bare() == a_jid.bare())
    if request is not None and request.type_ == aioxmpp.PresenceType.SUBSCRIBE:
        await b.client.send(aioxmpp.Presence(type_=aioxmpp.PresenceType.SUBSCRIBED, to=a_jid.bare()))
        # RFC 6121 3.1.5/3.1.6: a 'subscribed', or B's presence now that A may see it
        answer = await expect(a.presences, lambda p: p.from_.bare() == b_jid.bare() and p.type_ in (
            aioxmpp.PresenceType.SUBSCRIBED, aioxmpp.PresenceType.AVAILABLE))
        step("subscribe", answer is not None, "request from %s, answer %s from %s" % (
            request.from_, answer and (answer.type_.value or "available"), answer and answer.from_))
    else:
        step("subscribe", False, "B got %s" % (request and request.type_))

    try:
        query = await a.client.send(aioxmpp.IQ(type_=aioxmpp.IQType.GET, payload=aioxmpp.roster.xso.Query()),
                                    timeout=TIMEOUT)
        step("roster", True, " ".join(sorted("%s=%s" % (item.jid, item.subscription) for item in query.items)))
    except Exception as e:
        step("roster", False, describe(e))

    try:
        info = await a.client.summon(aioxmpp.DiscoClient).query_info(aioxmpp.JID.fromstr(DOMAIN),
                                                                     timeout=TIMEOUT)
        step("disco", True, " ".join(sorted(info.features)))
    except Exception as e:
        step("disco", False, describe(e))

    try:
        await asyncio.wait_for(aioxmpp.ping.ping(a.client, aioxmpp.JID.fromstr(DOMAIN)), TIMEOUT)
        step("ping", True)
    except Exception as e:
        step("ping", False, describe(e))

    for account in (a, b):
        await account.close()


run_asyncio(run)
