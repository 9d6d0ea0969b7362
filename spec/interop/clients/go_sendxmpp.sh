#!/bin/sh
# The client matrix's go-sendxmpp driver (Debian go-sendxmpp).
#
#   go_sendxmpp.sh HOST PORT DOMAIN CAFILE USER_A PASS_A USER_B PASS_B
#
# go-sendxmpp sends messages, or listens for them (-l): A listens, B sends
# one message to A's full JID and one to A's bare JID, each on its own
# connection, as go-sendxmpp does. It cannot get a roster, subscribe to
# presence, ask disco or ping (it prints none of the answers), and it
# ends its connections without </stream:stream>: those steps are printed
# as "unsupported". Go verifies the certificate against SSL_CERT_FILE.
# The steps of spec/interop/clients_spec.lua, one line each:
#   step NAME ok|fail DETAIL      info KEY VALUE      unsupported NAME WHY
set -u
HOST=$1 PORT=$2 DOMAIN=$3 CAFILE=$4 USER_A=$5 PASS_A=$6 USER_B=$7 PASS_B=$8
export SSL_CERT_FILE="$CAFILE"
work=$(mktemp -d /tmp/lxmpp-test-gosendxmpp-XXXXXX)
listener=""
finish() {
	[ -n "$listener" ] && kill "$listener" 2>/dev/null
	for f in "$work"/*; do
		echo "--- $f" >&2
		cat "$f" >&2
	done
	rm -rf "$work"
}
trap finish EXIT

echo "info version $(go-sendxmpp --version 2>&1 | head -n 1)"

# Waits up to 20 s for a fixed string in a file, while the listener runs.
wait_for() {
	i=0
	while [ $i -lt 200 ]; do
		grep -qF -- "$2" "$1" 2>/dev/null && return 0
		kill -0 "$listener" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# What a connection's debug output (-d: everything received) shows of
# STARTTLS, SASL and bind.
steps() { # label debug-file exit-status
	# TLS is required, so SASL mechanisms come only on the stream after TLS
	if grep -qF "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>" "$2" &&
		grep -qF "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" "$2"; then
		echo "step tls:$1 ok features after TLS"
	else
		echo "step tls:$1 fail $(grep -o 'starttls handshake.*' "$2" | head -n 1) (exit $3)"
	fi
	if grep -qF "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'" "$2"; then
		echo "step auth:$1 ok"
	else
		echo "step auth:$1 fail no <success/> (exit $3)"
	fi
	jid=$(sed -n "s|.*<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>\([^<]*\)</jid>.*|\1|p" "$2" | head -n 1)
	if [ -n "$jid" ]; then echo "step bind:$1 ok $jid"; else echo "step bind:$1 fail (exit $3)"; fi
}

go-sendxmpp -d -l -u "$USER_A@$DOMAIN" -p "$PASS_A" -j "$HOST:$PORT" -r matrix-a \
	>"$work/a.out" 2>"$work/a.debug" &
listener=$!
if ! wait_for "$work/a.debug" "<jid>$USER_A@$DOMAIN/matrix-a</jid>"; then
	steps a "$work/a.debug" "$(kill -0 $listener 2>/dev/null && echo running || echo gone)"
	exit 1
fi
steps a "$work/a.debug" running

n=0
for to in "$USER_A@$DOMAIN/matrix-a" "$USER_A@$DOMAIN"; do
	n=$((n + 1))
	case $to in */*) name=message-full ;; *) name=message-bare ;; esac
	echo "$name" | go-sendxmpp -d -u "$USER_B@$DOMAIN" -p "$PASS_B" -j "$HOST:$PORT" -r matrix-b "$to" \
		>"$work/b$n.out" 2>"$work/b$n.debug"
	status=$?
	[ $n = 1 ] && steps b "$work/b$n.debug" $status
	# the listener prints "<time> <sender's bare JID>: <body>"; its debug
	# output has the stanza, with the sender's full JID
	if [ $status = 0 ] && wait_for "$work/a.out" "$USER_B@$DOMAIN: $name" &&
		grep -qF "from='$USER_B@$DOMAIN/matrix-b'" "$work/a.debug"; then
		echo "step $name ok $name from $USER_B@$DOMAIN/matrix-b"
	else
		echo "step $name fail sender exit $status; the listener printed: $(tr '\n' ' ' <"$work/a.out")"
	fi
done

echo "unsupported roster go-sendxmpp prints no iq answer"
echo "unsupported subscribe go-sendxmpp prints no presence"
echo "unsupported disco go-sendxmpp prints no iq answer"
echo "unsupported ping go-sendxmpp prints no iq answer"
echo "unsupported close:a go-sendxmpp -l ends on a signal, without </stream:stream>"
echo "unsupported close:b go-sendxmpp closes TCP after sending, without </stream:stream> or TLS close_notify"
