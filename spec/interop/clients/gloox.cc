// The client matrix's gloox driver (Debian libgloox-dev), built by
// spec/interop/clients_spec.lua with `c++ gloox.cc $(pkg-config --cflags
// --libs gloox)`.
//
//   gloox HOST PORT DOMAIN CAFILE USER_A PASS_A USER_B PASS_B
//
// TLS is required (TLSRequired) and the certificate must verify against
// CAFILE for DOMAIN: onTLSConnect accepts only CertOk. The roster,
// presence subscription, disco and ping go through gloox's own managers.
// The steps of spec/interop/clients_spec.lua, one line each:
//   step NAME ok|fail DETAIL      info KEY VALUE
// gloox's own debug log goes to stderr.
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

#include <gloox/client.h>
#include <gloox/connectionlistener.h>
#include <gloox/connectiontcpclient.h>
#include <gloox/disco.h>
#include <gloox/discohandler.h>
#include <gloox/error.h>
#include <gloox/eventhandler.h>
#include <gloox/loghandler.h>
#include <gloox/message.h>
#include <gloox/messagehandler.h>
#include <gloox/rosterlistener.h>
#include <gloox/rostermanager.h>
#include <gloox/subscription.h>
#include <gloox/tlsdefault.h>

using namespace gloox;

static const int TIMEOUT = 20;

static void step(const std::string &name, bool ok, const std::string &detail = "") {
  std::printf("step %s %s %s\n", name.c_str(), ok ? "ok" : "fail", detail.c_str());
  std::fflush(stdout);
}

static std::string subscription_name(SubscriptionType s) {
  switch (s) {
  case S10nTo:
  case S10nToIn:
    return "to";
  case S10nFrom:
  case S10nFromOut:
    return "from";
  case S10nBoth:
    return "both";
  default:
    return "none";
  }
}

struct Account : ConnectionListener, MessageHandler, RosterListener, DiscoHandler, EventHandler, LogHandler {
  std::string label, cafile;
  Client client;
  int status = 0; // 0 connecting, 1 connected, -1 disconnected
  bool cert_ok = false;
  std::string tls, error, roster, disco, ping, messages, presences;
  bool roster_done = false, disco_done = false, ping_done = false;

  Account(const std::string &label, const std::string &jid, const std::string &password, const char *cafile)
      : label(label), cafile(cafile), client(JID(jid), password) {
    client.setTls(TLSRequired);
    client.registerConnectionListener(this);
    client.registerMessageHandler(this);
    client.rosterManager()->registerRosterListener(this, false);
    client.logInstance().registerLogHandler(LogLevelDebug, LogAreaAll, this);
  }

  void handleLog(LogLevel, LogArea, const std::string &message) override {
    std::fprintf(stderr, "%s: %s\n", label.c_str(), message.c_str());
  }

  bool onTLSConnect(const CertInfo &info) override {
    tls = info.protocol + " " + info.cipher + " status=" + std::to_string(info.status);
    if (info.status & CertWrongPeer)
      tls += " CertWrongPeer"; // not issued for the JID's domain
    cert_ok = info.status == CertOk; // chain and name verified
    return cert_ok;
  }
  void onConnect() override { status = 1; }
  void onDisconnect(ConnectionError e) override {
    status = -1;
    error = "ConnectionError " + std::to_string(e) + " AuthenticationError " + std::to_string(client.authError());
  }

  void handleMessage(const Message &msg, MessageSession *) override {
    messages += msg.body() + "|" + msg.from().full() + "\n";
  }

  // presence through the roster manager: B's presence after approval,
  // and B's 'subscribed'
  void handleItemSubscribed(const JID &jid) override { presences += "subscribed|" + jid.full() + "\n"; }
  void handleRosterPresence(const RosterItem &item, const std::string &resource, Presence::PresenceType type,
                            const std::string &) override {
    if (type != Presence::Unavailable)
      presences += "available|" + item.jidJID().bare() + "/" + resource + "\n";
  }
  void handleNonrosterPresence(const Presence &p) override {
    presences += std::to_string(p.subtype()) + "|" + p.from().full() + "\n";
  }
  bool handleSubscriptionRequest(const JID &jid, const std::string &) override {
    presences += "subscribe|" + jid.full() + "\n";
    return false; // asynchronous (registerRosterListener's false): ignored
  }
  bool handleUnsubscriptionRequest(const JID &, const std::string &) override { return false; }
  void handleItemAdded(const JID &) override {}
  void handleItemRemoved(const JID &) override {}
  void handleItemUpdated(const JID &) override {}
  void handleItemUnsubscribed(const JID &) override {}
  void handleSelfPresence(const RosterItem &, const std::string &, Presence::PresenceType,
                          const std::string &) override {}
  void handleRoster(const Roster &r) override {
    roster.clear();
    for (const auto &item : r)
      roster += (roster.empty() ? "" : " ") + item.first + "=" + subscription_name(item.second->subscription());
    roster_done = true;
  }
  void handleRosterError(const IQ &) override {
    roster = "error";
    roster_done = true;
  }

  void handleDiscoInfo(const JID &, const Disco::Info &info, int) override {
    for (const auto &f : info.features())
      disco += (disco.empty() ? "" : " ") + f;
    disco_done = true;
  }
  void handleDiscoItems(const JID &, const Disco::Items &, int) override {}
  void handleDiscoError(const JID &, const Error *e, int) override {
    disco = "!error " + std::to_string(e ? e->error() : -1);
    disco_done = true;
  }

  void handleEvent(const Event &e) override {
    ping = e.eventType() == Event::PingPong ? "" : "!error " + std::to_string(e.eventType());
    ping_done = true;
  }
};

static Account *all[2];

// Runs both connections until done() or the timeout.
static bool run_until(const std::function<bool()> &done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(TIMEOUT);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    for (Account *a : all)
      if (a && a->status >= 0)
        a->client.recv(25000); // microseconds
  }
  return done();
}

static bool login(Account &a, const char *host, int port) {
  // our own TCP connection to HOST:PORT: with setServer(), gloox would
  // check the certificate against HOST instead of the JID's domain
  a.client.setConnectionImpl(new ConnectionTCPClient(&a.client, a.client.logInstance(), host, port));
  // gloox 1.0.24 (GnuTLS) never reads the files given to
  // Client::setCACerts (the default encryption loads only the system's
  // store): our own TLSDefault, given the CA after init, does
  auto *tls = new TLSDefault(&a.client, a.client.server());
  tls->init();
  tls->setCACerts(StringList{a.cafile});
  a.client.setEncryptionImpl(tls);
  a.client.connect(false);
  run_until([&] { return a.status != 0; });
  bool ok = a.status == 1;
  step("tls:" + a.label, ok || a.cert_ok, a.tls.empty() ? a.error : a.tls);
  step("auth:" + a.label, ok, ok ? "" : a.error);
  step("bind:" + a.label, ok, ok ? a.client.jid().full() : a.error);
  if (ok)
    a.client.setPresence(Presence::Available, 0); // messages to the bare JID reach it
  return ok;
}

static std::string bare(const std::string &jid) { return jid.substr(0, jid.find('/')); }

// The line of a log ("what|from" per line) with this what and sender.
static bool find(const std::string &log, const std::string &what, const std::string &from_bare,
                 std::string *line = nullptr) {
  size_t at = 0;
  while (at < log.size()) {
    size_t end = log.find('\n', at);
    std::string l = log.substr(at, end - at);
    size_t bar = l.find('|');
    if (l.substr(0, bar) == what && (from_bare.empty() || bare(l.substr(bar + 1)) == from_bare)) {
      if (line)
        *line = l;
      return true;
    }
    at = end + 1;
  }
  return false;
}

int main(int argc, char **argv) {
  if (argc != 9) {
    std::fprintf(stderr, "usage: %s HOST PORT DOMAIN CAFILE USER_A PASS_A USER_B PASS_B\n", argv[0]);
    return 2;
  }
  const char *host = argv[1], *domain = argv[3], *cafile = argv[4];
  int port = std::stoi(argv[2]);
  std::printf("info version %s\n", gloox_version());
  Account a("a", std::string(argv[5]) + "@" + domain + "/matrix-a", argv[6], cafile);
  Account b("b", std::string(argv[7]) + "@" + domain + "/matrix-b", argv[8], cafile);
  all[0] = &a;
  all[1] = &b;
  if (!login(a, host, port) || !login(b, host, port))
    return 1;
  std::string a_full = a.client.jid().full(), a_bare = bare(a_full), b_full = b.client.jid().full(),
              b_bare = bare(b_full);

  for (auto [name, to] : {std::pair<std::string, std::string>{"message-full", a_full}, {"message-bare", a_bare}}) {
    b.client.send(Message(Message::Chat, JID(to), name));
    std::string line;
    bool ok = run_until([&] { return find(a.messages, name, "", &line); });
    step(name, ok && line == name + "|" + b_full, ok ? line : "nothing arrived");
  }

  a.client.rosterManager()->subscribe(JID(b_bare));
  std::string request, answer;
  if (run_until([&] { return find(b.presences, "subscribe", a_bare, &request); })) {
    b.client.rosterManager()->ackSubscriptionRequest(JID(a_bare), true); // 'subscribed'
    // RFC 6121 3.1.5/3.1.6: a 'subscribed', or B's presence now that A may see it
    bool ok = run_until([&] {
      return find(a.presences, "subscribed", b_bare, &answer) || find(a.presences, "available", b_bare, &answer);
    });
    step("subscribe", ok, "request from " + request + ", answer " + (ok ? answer : "none"));
  } else {
    step("subscribe", false, "B got " + b.presences);
  }

  a.roster_done = false;
  a.client.rosterManager()->fill(); // a roster get; handleRoster gets the answer
  step("roster", run_until([&] { return a.roster_done; }) && a.roster != "error", a.roster);

  a.client.disco()->getDiscoInfo(JID(domain), "", &a, 0);
  bool answered = run_until([&] { return a.disco_done; });
  step("disco", answered && a.disco.rfind("!", 0) != 0, answered ? a.disco : "no answer");

  a.client.xmppPing(JID(domain), &a);
  answered = run_until([&] { return a.ping_done; });
  step("ping", answered && a.ping.empty(), answered ? a.ping : "no answer");

  for (Account *x : all) {
    // sends </stream:stream> and closes the socket at once
    x->client.disconnect();
    step("close:" + x->label, x->status == -1, "sent </stream:stream>, did not wait; " + x->error);
  }
  return 0;
}
