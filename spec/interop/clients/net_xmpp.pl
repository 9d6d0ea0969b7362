#!/usr/bin/perl
# The client matrix's Net::XMPP driver (Debian libnet-xmpp-perl, the
# library of sendxmpp).
#
#   net_xmpp.pl HOST PORT DOMAIN CAFILE USER_A PASS_A USER_B PASS_B
#
# The steps of spec/interop/clients_spec.lua, one line each:
#   step NAME ok|fail DETAIL      info KEY VALUE
# Net::XMPP has no disco or ping of its own: those two go out as raw XML
# through its Send and come back through its iq callback.
use strict;
use warnings;
use Net::XMPP;
use Time::HiRes qw(time);

$| = 1;
my ($HOST, $PORT, $DOMAIN, $CAFILE, $USER_A, $PASS_A, $USER_B, $PASS_B) = @ARGV;
my $TIMEOUT = 20;

sub step {
    my ($name, $ok, $detail) = @_;
    print "step $name ", ($ok ? "ok" : "fail"), " ", ($detail // ""), "\n";
}

print "info version $Net::XMPP::VERSION\n";

my %clients;

sub login {
    my ($label, $user, $password) = @_;
    my $c = Net::XMPP::Client->new(debuglevel => 1); # to stderr
    my $state = { label => $label, inbox => [], presences => [], iqs => {} };
    $c->SetCallBacks(
        message  => sub { push @{ $state->{inbox} }, $_[1] },
        presence => sub { push @{ $state->{presences} }, $_[1] },
        iq       => sub { $state->{iqs}{ $_[1]->GetID() } = $_[1] },
    );
    # ssl_verify 0x01: SSL_VERIFY_PEER; the name checked is the stream's 'to'
    my $status = $c->Connect(hostname => $HOST, port => $PORT, componentname => $DOMAIN, tls => 1,
        ssl_ca_path => $CAFILE, ssl_verify => 0x01, connecttimeout => $TIMEOUT);
    my $sock = $status && $c->{STREAM}{SIDS}{ $c->GetStreamID() }{sock};
    my $tls = $sock && $sock->isa("IO::Socket::SSL");
    # XML::Stream ignores a failed handshake (it logs "We are secure", goes
    # on with the next stream and Connect returns 1): hence the check of
    # the socket's class, and IO::Socket::SSL's own error (e.g. a wrong name)
    my $why = do { no warnings "once"; $IO::Socket::SSL::SSL_ERROR // "" };
    step("tls:$label", $tls, $tls ? $sock->get_sslversion()
        : "Connect returned " . ($status // "undef") . " " . ($c->GetErrorCode() // "") . " $why");
    print "info insecure Connect returned $status after TLS failed ($why): a program that then calls AuthSend "
        . "sends its password on the plain socket\n" if $status && !$tls;
    return unless $tls;
    my @result = $c->AuthSend(username => $user, password => $password, resource => "matrix-$label");
    my $ok = @result && $result[0] eq "ok";
    step("auth:$label", $ok, $ok ? "" : "@result");
    # AuthSend binds the resource asked for and drops the server's answer:
    # the message to this full JID is what shows the bind worked
    my $jid = "$user\@$DOMAIN/matrix-$label";
    step("bind:$label", $ok, "$jid (asked; Net::XMPP keeps no answer)");
    return unless $ok;
    $c->PresenceSend(); # available, so that messages to the bare JID reach it
    $state->{client} = $c;
    $state->{jid} = $jid;
    $clients{$label} = $state;
    return $state;
}

# Processes both connections until $done->() returns something true (given
# back), or the timeout (undef).
sub wait_for {
    my ($done) = @_;
    my $deadline = time + $TIMEOUT;
    while (time < $deadline) {
        my $value = $done->();
        return $value if $value;
        # Process(0) polls; a fractional timeout waits whole seconds
        for my $s (values %clients) {
            defined $s->{client}->Process(0) or return undef;
        }
        select(undef, undef, undef, 0.01);
    }
    return undef;
}

sub take {
    my ($list, $wanted) = @_;
    for my $i (0 .. $#$list) {
        return splice(@$list, $i, 1) if $wanted->($list->[$i]);
    }
    return undef;
}

sub bare { my ($jid) = @_; $jid =~ s{/.*}{}; return $jid }

my $n = 0;
# Sends an iq given as XML (with id '%s') and waits for its answer.
sub request {
    my ($s, $xml) = @_;
    my $id = "matrix" . ++$n;
    $s->{client}->Send(sprintf($xml, $id));
    return wait_for(sub { delete $s->{iqs}{$id} });
}

sub answer {
    my ($name, $iq, $describe) = @_;
    if (!$iq) { step($name, 0, "no answer"); return }
    if ($iq->GetType() eq "error") { step($name, 0, "error " . ($iq->GetXML() =~ /<([a-z-]+) xmlns=['"]urn:ietf:params:xml:ns:xmpp-stanzas/ ? $1 : "?")); return }
    step($name, 1, $describe->($iq->GetXML()));
}

my $a = login("a", $USER_A, $PASS_A) or exit 1;
my $b = login("b", $USER_B, $PASS_B) or exit 1;

for my $case (["message-full", $a->{jid}], ["message-bare", bare($a->{jid})]) {
    my ($name, $to) = @$case;
    $b->{client}->MessageSend(to => $to, type => "chat", body => $name);
    my $msg = wait_for(sub { take($a->{inbox}, sub { $_[0]->GetBody() eq $name }) });
    step($name, $msg && $msg->GetFrom() eq $b->{jid}, $msg ? "$name from " . $msg->GetFrom() : "nothing arrived");
}

$a->{client}->Subscription(type => "subscribe", to => bare($b->{jid}));
my $request = wait_for(sub { take($b->{presences}, sub { bare($_[0]->GetFrom()) eq bare($a->{jid}) }) });
if ($request && $request->GetType() eq "subscribe") {
    $b->{client}->Subscription(type => "subscribed", to => bare($a->{jid}));
    # RFC 6121 3.1.5/3.1.6: a 'subscribed', or B's presence now that A may see it
    my $answer = wait_for(sub { take($a->{presences}, sub {
        bare($_[0]->GetFrom()) eq bare($b->{jid}) && $_[0]->GetType() =~ /^(|available|subscribed)$/ }) });
    step("subscribe", $answer, "request from " . $request->GetFrom() . ", answer "
        . ($answer ? ($answer->GetType() || "available") . " from " . $answer->GetFrom() : "none"));
} else {
    step("subscribe", 0, "B got " . ($request ? $request->GetType() : "nothing"));
}

answer("roster", request($a, "<iq type='get' id='%s'><query xmlns='jabber:iq:roster'/></iq>"), sub {
    my ($xml) = @_;
    my @items;
    while ($xml =~ /<item\b([^>]*)>?/g) {
        my $attrs = $1;
        my ($jid) = $attrs =~ /jid=['"]([^'"]+)/;
        my ($sub) = $attrs =~ /subscription=['"]([^'"]+)/;
        push @items, "$jid=" . ($sub // "none");
    }
    return join(" ", sort @items);
});
answer("disco", request($a, "<iq type='get' id='%s' to='$DOMAIN'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"), sub {
    return join(" ", sort($_[0] =~ /<feature var=['"]([^'"]+)/g));
});
answer("ping", request($a, "<iq type='get' id='%s' to='$DOMAIN'><ping xmlns='urn:xmpp:ping'/></iq>"), sub { "" });

for my $s ($a, $b) {
    # sends </stream:stream> and closes the socket without waiting for the
    # server's </stream:stream>
    $s->{client}->Disconnect();
    step("close:$s->{label}", !$s->{client}->Connected(), "sent </stream:stream>, did not wait");
}
