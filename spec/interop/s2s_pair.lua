-- Two Debian Prosody 0.12 servers federating, with or without mod_lxmpp on
-- both, run inside a network namespace of its own (`unshare --net`: its
-- own loopback, where port 5269, which server-to-server connections to an
-- address use, is free): domains 127.0.0.2 and 127.0.0.3, dialback after
-- TLS, raw c2s sessions without TLS. Prints one JSON line:
--   {"ok": true, "there": {from, body, id}, "back": {...}, "big": bytes,
--    "lxmpp_s2s_streams": [how many s2s streams mod_lxmpp parsed on each]}
-- Run by spec/interop/prosody_s2s_spec.lua:
--   unshare --net lua5.4 spec/interop/s2s_pair.lua [lxmpp]
local json = require "dkjson"
local clock = require "lxmpp.clock"
local prosody = require "interop.prosody"
local raw = require "interop.raw"

assert(os.execute("ip link set lo up"))

local function options(address)
	local o = {
		domain = address, host = address, s2s = true, log_level = "debug",
		config = { "c2s_require_encryption = false", "allow_unencrypted_plain_auth = true",
			"s2s_secure_auth = false", "s2s_stanza_size_limit = 20000" },
	}
	if arg[1] == "lxmpp" then o = prosody.with_lxmpp(o) end
	return o
end

local servers = {}
local ok, result = pcall(function()
	servers[1] = prosody.start(options("127.0.0.2"))
	servers[2] = prosody.start(options("127.0.0.3"))
	local a, b = servers[1], servers[2]
	local alice = raw.login(a, a:account("alice"), "home")
	local bob = raw.login(b, b:account("bob"), "work")
	local function message(from, to, body, id)
		assert(from:write("<message type='chat' to='" .. to.jid .. "' id='" .. id .. "'><body>" .. body
			.. "</body></message>"))
		local st = raw.stanza(to, clock.now() + 30)
		return { from = st.attr.from, body = st:get_child_text("body"), id = st.attr.id }
	end
	local out = { ok = true }
	out.there = message(alice, bob, "hello from the other server", "m1")
	out.back = message(bob, alice, "hello back", "m2")
	-- over the limit before authentication (10000 bytes), under
	-- s2s_stanza_size_limit (20000): it arrives only if the limit raised
	-- on the open, authenticated stream applies
	local big = message(alice, bob, ("x"):rep(15000), "m3")
	out.big = #big.body
	-- mod_lxmpp says so at debug level for each stream it parses
	local function streams(server) return select(2, server:log():gsub("lxmpp parses a jabber:server stream", "")) end
	out.lxmpp_s2s_streams = { streams(a), streams(b) }
	return out
end)
for _, s in ipairs(servers) do
	if not ok then io.stderr:write(s:log():sub(-4000)) end
	s:stop()
end
print(json.encode(ok and result or { ok = false, problem = tostring(result) }))
