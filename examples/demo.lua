-- make demo: the RFC 6120 §9 scenario in one process. Our client, juliet,
-- against our server, im.example.com, wired back to back: STARTTLS
-- (required by the server), SCRAM-SHA-1, resource binding, a message each
-- way, and the closing handshake. Each side's XML is printed as it is
-- written, C: for the client and S: for the server, as the RFC shows it;
-- the TLS handshake is one line each way, and the XML inside TLS is shown
-- as plaintext (the trace events of lxmpp.stream).
local stream = require "lxmpp.stream"
local st = require "lxmpp.stanza"

-- A throwaway certificate: no private key is ever committed.
local cert, key = stream.selfsigned("im.example.com")

local server = stream.server{
	domains = { "im.example.com" },
	certificate = cert, key = key,
	trace = true,
}
local client = stream.client{
	jid = "juliet@im.example.com/balcony",
	password = "r0m30myr0m30",
	mechanisms = { "SCRAM-SHA-1" }, -- as in the RFC
	ca = cert, -- trust our throwaway certificate
	trace = true,
}

local accounts = { juliet = "r0m30myr0m30" }

local function say(who, text)
	io.write(who, ": ", text, "\n")
end

-- The server's application: checks credentials, accepts the resource,
-- and answers juliet's message on romeo's behalf.
local function serve(ev)
	if ev.type == "auth-request" then
		local password = accounts[ev.username]
		if password then
			assert(server:answer_auth{ password = password })
		else
			assert(server:answer_auth(false, "not-authorized"))
		end
	elseif ev.type == "bind-request" then
		assert(server:accept_bind("juliet@im.example.com/" .. (ev.resource or "gen")))
	elseif ev.type == "stanza" and ev.stanza.name == "message" then
		assert(server:send(st.message({
			from = "romeo@example.net/orchard", to = ev.stanza.attr.from,
			type = "chat", id = ev.stanza.attr.id, ["xml:lang"] = "en",
		}, "Neither, fair saint, if either thee dislike.")))
	end
end

-- The client's application: once bound, juliet speaks; when answered, she
-- closes the stream.
local function converse(ev)
	if ev.type == "ready" then
		assert(client:send(st.message({
			to = "romeo@example.net", type = "chat", id = "ju2ba41c", ["xml:lang"] = "en",
		}, "Art thou not Romeo, and a Montague?")))
	elseif ev.type == "stanza" then
		assert(client:close())
	end
end

-- Prints a side's own XML; runs its application.
local function drain(conn, who, app)
	for ev in conn:events() do
		if ev.type == "sent" then
			say(who, ev.data)
		elseif ev.type == "tls" and conn == client then
			say("C", "[TLS handshake: ClientHello ... Finished; " .. ev.tls.version .. ", "
				.. ev.tls.cipher .. (ev.tls.verified and ", certificate of im.example.com verified]" or "]"))
			say("S", "[TLS handshake: ServerHello, Certificate ... Finished]")
		elseif ev.type == "closed" then
			if ev.error then error(who .. ": " .. ev.error .. ": " .. ev.message) end
		elseif ev.type ~= "received" then
			app(ev)
		end
	end
end

-- Moves the bytes one side has written to the other: it takes every byte,
-- and the work happens as its events are taken.
local function move(from, to)
	local out = from:take_output()
	if not out then return false end
	assert(to:receive_bytes(out))
	return true
end

repeat
	drain(client, "C", converse)
	local moved = move(client, server)
	drain(server, "S", serve)
	moved = move(server, client) or moved
until not moved
drain(client, "C", converse)
drain(server, "S", serve)
assert(client:state() == "closed" and server:state() == "closed")
