#!/usr/bin/python3
"""The client matrix's nbxmpp driver (Debian python3-nbxmpp, Gajim's
library, on GLib's Gio).

  nbxmpp_driver.py HOST PORT DOMAIN CAFILE USER_A PASS_A USER_B PASS_B

nbxmpp verifies the certificate with Gio against the system's CAs (Gajim
then lets the user pin a certificate); the driver gives Gio's TLS
connection a database of CAFILE instead, so Gio checks the chain to the
test CA and the name DOMAIN, and nbxmpp refuses any error it reports. The
steps of spec/interop/clients_spec.lua, one line each:
  step NAME ok|fail DETAIL      info KEY VALUE
"""
import time

from gi.repository import Gio, GLib

import nbxmpp
import nbxmpp.tcp
from nbxmpp.client import Client
from nbxmpp.const import ConnectionProtocol, ConnectionType, StreamError
from nbxmpp.protocol import Iq, Message, Presence
from nbxmpp.structs import StanzaHandler

from transcript import CAFILE, DOMAIN, HOST, PASS_A, PASS_B, PORT, TIMEOUT, USER_A, USER_B, bare, say, step


_start_tls = nbxmpp.tcp.TCPConnection.start_tls_negotiation


def start_tls_with_test_ca(self):
    _start_tls(self)
    # the handshake starts with the first read or write, after this
    self._con.get_base_io_stream().set_database(Gio.TlsFileDatabase.new(CAFILE))


nbxmpp.tcp.TCPConnection.start_tls_negotiation = start_tls_with_test_ca

CONTEXT = GLib.MainContext.default()
GLib.timeout_add(50, lambda: True)  # so that wait() looks at the clock


def wait(done):
    """Runs GLib's loop until done() gives something true, or the timeout."""
    deadline = time.monotonic() + TIMEOUT
    value = done()
    while not value and time.monotonic() < deadline:
        CONTEXT.iteration(True)
        value = done()
    return value




class Account:
    def __init__(self, label, user, password):
        self.label = label
        self.state = None  # "connected", "failed", "disconnected"
        self.messages, self.presences = [], []
        c = self.client = Client(log_context=label)
        c.set_domain(DOMAIN)
        c.set_username(user)
        c.set_resource("matrix-" + label)
        c.set_password(password)
        c.set_custom_host("%s:%s" % (HOST, PORT), ConnectionProtocol.TCP, ConnectionType.START_TLS)
        c.subscribe("connected", lambda *_: self.settle("connected"))
        c.subscribe("connection-failed", lambda *_: self.settle("failed"))
        c.subscribe("disconnected", lambda *_: self.settle("disconnected"))
        c.register_handler(StanzaHandler(name="message", callback=lambda _c, st, _p: self.messages.append(st)))
        c.register_handler(StanzaHandler(name="presence", callback=lambda _c, st, _p: self.presences.append(st)))

    def settle(self, state):
        self.state = state

    def login(self):
        self.client.connect()
        wait(lambda: self.state)
        ok = self.state == "connected"
        version = self.client.tls_version if ok else None
        error = self.client.get_error()
        if ok:
            step("tls:" + self.label, version is not None, version and version.value_nick)
        else:  # SASL comes after TLS, which was required
            step("tls:" + self.label, error and error[0] == StreamError.SASL, "%s: %s" % (self.state, error))
        step("auth:" + self.label, ok, "" if ok else str(self.client.get_error()))
        step("bind:" + self.label, ok, str(self.client.get_bound_jid()) if ok else "")
        if ok:
            self.client.send_stanza(Presence())  # available, so messages to the bare JID reach it
        return ok

    def request(self, name, iq, describe):
        answers = []
        self.client.send_stanza(iq, callback=lambda _client, answer: answers.append(answer))
        answer = wait(lambda: answers and answers[0])
        if not answer:
            step(name, False, "no answer")
        elif answer.getType() == "error":
            step(name, False, "error %s" % answer.getError())
        else:
            step(name, True, describe(answer))

    def close(self):
        self.state = None
        self.client.disconnect()  # </stream:stream>, then waits for the server's
        step("close:" + self.label, wait(lambda: self.state == "disconnected"), self.state or "no end")


def take(stanzas, wanted):
    for i, st in enumerate(stanzas):
        if wanted(st):
            return stanzas.pop(i)
    return None


def run():
    say("info", "version", nbxmpp.__version__)
    a, b = Account("a", USER_A, PASS_A), Account("b", USER_B, PASS_B)
    if not a.login() or not b.login():
        return
    a_full, b_full = str(a.client.get_bound_jid()), str(b.client.get_bound_jid())
    a_bare, b_bare = bare(a_full), bare(b_full)

    for name, to in (("message-full", a_full), ("message-bare", a_bare)):
        b.client.send_stanza(Message(to=to, body=name, typ="chat"))
        msg = wait(lambda: take(a.messages, lambda m: m.getBody() == name))
        step(name, msg is not None and str(msg.getFrom()) == b_full,
             msg and "%s from %s" % (msg.getBody(), msg.getFrom()) or "nothing arrived")

    a.client.send_stanza(Presence(to=b_bare, typ="subscribe"))
    request = wait(lambda: take(b.presences, lambda p: bare(p.getFrom()) == a_bare))
    if request is not None and request.getType() == "subscribe":
        b.client.send_stanza(Presence(to=a_bare, typ="subscribed"))
        # RFC 6121 3.1.5/3.1.6: a 'subscribed', or B's presence now that A may see it
        answer = wait(lambda: take(a.presences, lambda p: bare(p.getFrom()) == b_bare and
                                   p.getType() in (None, "", "subscribed")))
        step("subscribe", answer is not None, "request from %s, answer %s from %s" % (
            request.getFrom(), answer and (answer.getType() or "available"), answer and answer.getFrom()))
    else:
        step("subscribe", False, "B got %s" % (request and request.getType()))

    a.request("roster", Iq("get", queryNS="jabber:iq:roster"), lambda iq: " ".join(sorted(
        "%s=%s" % (item.getAttr("jid"), item.getAttr("subscription") or "none")
        for item in iq.getQuery().getChildren() if item.getName() == "item")))
    a.request("disco", Iq("get", queryNS="http://jabber.org/protocol/disco#info", to=DOMAIN),
              lambda iq: " ".join(sorted(f.getAttr("var") for f in iq.getQuery().getChildren() if f.getName() == "feature")))
    ping = Iq("get", to=DOMAIN)
    ping.addChild("ping", namespace="urn:xmpp:ping")
    a.request("ping", ping, lambda iq: "")

    for account in (a, b):
        account.close()


run()
