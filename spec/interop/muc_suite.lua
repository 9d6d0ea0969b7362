-- lxmpp.ext.muc (XEP-0045) against a real server's MUC service: two lxmpp
-- clients in a room (the owner's form, occupants with roles and
-- affiliations, messages, subject, invitations, kick and ban as the
-- service reports them), then examples/muc_bot.lua run as a user runs it:
-- it answers "!ping" in the room, and answers again after the service
-- forgot it silently (the XEP-0410 self-ping notices and it rejoins) and
-- after the service restarts. Run by a server's spec file:
--   muc_suite(spec, server_of, { muc = domain, forget = fn(server, occupant_jid) or nil,
--     restart = fn(server) restarts the MUC service, restart_drops = whether the
--     restart drops the occupants (Prosody 0.12 saves them and restores them) })
local clock = require "lxmpp.clock"
local client = require "lxmpp.client"
local process = require "interop.process"

return function(spec, server_of, opts)
	local describe, it, assert = spec.describe, spec.it, spec.assert
	local rooms = 0

	local function connect(user, resource)
		local server = server_of()
		local account = server:account(user)
		return assert(client.connect { jid = account.jid, password = account.password, host = server.host,
			port = server.port, tls = { cafile = server.cafile }, timeout = 10, resource = resource,
			reconnect = { delay = 0.2, max_delay = 2 } })
	end

	local function new_room()
		rooms = rooms + 1
		return ("lxmpp-%d-%d@%s"):format(math.random(1, 1e9), rooms, opts.muc)
	end

	-- Pumps every client until done() (handlers and tasks run as they pump).
	local function until_(clients, done, timeout)
		local deadline = clock.now() + (timeout or 10)
		while not done() do
			if clock.now() > deadline then return false end
			for _, c in ipairs(clients) do c:step(0.05) end
		end
		return true
	end

	describe("lxmpp.ext.muc", function()
		it("joins, configures, talks, invites, kicks and bans in a real room", function()
			local a, b = connect("alice", "muc"), connect("bob", "muc")
			local both = { a, b }
			local jid = new_room()
			local am, bm = a:use("muc", { ping_interval = false }), b:use("muc", { ping_interval = false })
			local ar = assert(am:join(jid, "Alice", { history = { maxstanzas = 0 } }))
			assert.same({ "owner", "moderator" }, { ar.me.affiliation, ar.me.role })
			local form = assert(ar:configuration())
			assert.equal("http://jabber.org/protocol/muc#roomconfig", require("lxmpp.ext.forms").form_type(form))
			assert(ar:configure { ["muc#roomconfig_roomname"] = "The garden" })
			assert.equal("The garden", assert(ar:configuration()):field("muc#roomconfig_roomname").value)

			local seen = {}
			local function note(...) seen[#seen + 1] = table.concat({ ... }, " ") end
			ar:on("join", function(o) note("join", o.nick, o.role, o.affiliation) end)
			ar:on("message", function(m, nick) note("message", nick, m:get_child_text("body")) end)
			ar:on("leave", function(o, why) note("leave", o.nick, tostring(why)) end)
			local br = assert(bm:join(jid, "Bob", { history = { maxstanzas = 0 } }))
			assert.equal("owner", br.occupants.Alice.affiliation)
			local invites = {}
			bm:on_invite(function(i) invites[#invites + 1] = i end)
			br:on("private", function(m, nick) note("private", nick, m:get_child_text("body")) end)
			-- the room's own subject message, which ends Bob's join, comes here
			-- too (it has no nick): only an occupant's change counts here
			br:on("subject", function(s, nick) if nick then note("subject", nick, s) end end)
			br:on("kicked", function(reason) note("kicked", tostring(reason)) end)
			br:on("banned", function(reason) note("banned", tostring(reason)) end)
			assert(br:say("Good morrow"))
			assert(ar:private("Bob", "a word"))
			assert(ar:set_subject("Roses"))
			assert(until_(both, function() return #seen >= 4 end), table.concat(seen, "\n"))
			table.sort(seen) -- two clients: no order between them
			assert.same({ "join Bob participant none", "message Bob Good morrow", "private Alice a word",
				"subject Alice Roses" }, seen)

			local bob_bare = server_of():account("bob").jid
			assert(ar:invite(b.jid, "come in")) -- Bob sent no presence: his full JID
			assert(ar:invite(b.jid, "or here", true))
			assert(until_(both, function() return #invites == 2 end))
			table.sort(invites, function(x, y) return tostring(x.direct) < tostring(y.direct) end)
			assert.same({ room = jid, from = a.jid, reason = "or here", direct = true }, invites[2])
			assert.equal(jid, invites[1].room)
			assert.equal("come in", invites[1].reason)

			local renamed, newcomers = {}, {}
			br:on("join", function(o) newcomers[#newcomers + 1] = o.nick end)
			br:on("nick", function(o, new) renamed[#renamed + 1] = o.nick .. " > " .. new end)
			ar:on("nick", function(o, new) renamed[#renamed + 1] = "self: " .. o.nick .. " > " .. new end)
			assert(ar:change_nick("Juliet"))
			assert(until_(both, function() return #renamed == 2 end), table.concat(renamed, "\n"))
			table.sort(renamed)
			assert.same({ "Alice > Juliet", "self: Alice > Juliet" }, renamed)
			assert.equal("Juliet", ar.nick)
			assert(until_(both, function() return br.occupants.Juliet ~= nil end))
			assert.is_nil(br.occupants.Alice)
			assert.same({}, newcomers) -- a renamed neighbour is no newcomer

			seen = {}
			assert(ar:kick("Bob", "mind your manners"))
			assert(until_(both, function() return #seen == 2 end), table.concat(seen, "\n"))
			table.sort(seen)
			assert.same({ "kicked mind your manners", "leave Bob kicked" }, seen)
			assert.equal("left", br.state)
			br = assert(bm:join(jid, "Bob"))
			seen = {}
			br:on("banned", function(reason) note("banned", tostring(reason)) end)
			assert(ar:ban(bob_bare, "enough"))
			assert(until_(both, function() return #seen == 3 end), table.concat(seen, "\n"))
			table.sort(seen)
			assert.same({ "banned enough", "join Bob participant none", "leave Bob banned" }, seen)
			local none, _, code = bm:join(jid, "Bob")
			assert.is_nil(none)
			assert.equal("forbidden", code)
			assert(ar:leave())
			assert.is_true(a:close())
			assert.is_true(b:close())
		end)

		it("gives the history and subject of a join to the handlers added when join() returns", function()
			local a, b = connect("alice", "history"), connect("bob", "history")
			local jid = new_room()
			local ar = assert(a:use("muc", { ping_interval = false }):join(jid, "Alice"))
			local lines = 0
			ar:on("message", function() lines = lines + 1 end)
			for i = 1, 3 do assert(ar:say("line " .. i)) end
			assert(until_({ a }, function() return lines == 3 end)) -- the room has them
			local br = assert(b:use("muc", { ping_interval = false }):join(jid, "Bob", { history = { maxstanzas = 2 } }))
			local seen = {}
			br:on("message", function(m, nick, delayed)
				seen[#seen + 1] = ("%s: %s%s"):format(nick, m:get_child_text("body"), delayed and " (delayed)" or "")
			end)
			br:on("subject", function(subject) seen[#seen + 1] = "subject '" .. subject .. "'" end)
			assert(until_({ a, b }, function() return #seen == 3 end), table.concat(seen, "\n"))
			assert.same({ "Alice: line 2 (delayed)", "Alice: line 3 (delayed)", "subject ''" }, seen)
			assert(ar:say("line 4"))
			assert(until_({ a, b }, function() return #seen == 4 end))
			assert.equal("Alice: line 4", seen[4])
			assert.is_true(a:close())
			assert.is_true(b:close())
		end)

		it("runs examples/muc_bot.lua: it answers, and is back after the service forgets it and restarts", function()
			local server = server_of()
			local jid = new_room()
			local account = server:account("alice")
			local dir = process.tempdir()
			local log = dir .. "/bot.log"
			local bot, why = process.start_bot(server, "muc_bot.lua", account, { account.jid, jid, "bot", "1" }, log, 15)
			assert(bot, why)
			local ok, err = pcall(function()
				local b = connect("bob", "pinger")
				local room = assert(b:use("muc", { ping_interval = 1, rejoin_delay = 1 }):join(jid, "Bob"))
				local pongs = 0
				room:on("message", function(m, nick)
					if nick == "bot" and m:get_child_text("body") == "Bob: pong" then pongs = pongs + 1 end
				end)
				local function ping(n)
					assert(until_({ b }, function() return room.state == "joined" end, 20), "Bob is not back in")
					assert(room:say("!ping"))
					return until_({ b }, function() return pongs >= n end, 20)
				end
				assert(ping(1), "no pong:\n" .. process.read(log))
				if opts.forget then
					opts.forget(server, jid .. "/bot")
					assert(until_({ b }, function() return select(2, process.read(log):gsub("back in", "")) >= 1 end, 20),
						"the bot did not rejoin:\n" .. process.read(log))
					assert(ping(2), "no pong after the rejoin:\n" .. process.read(log))
				end
				local before = select(2, process.read(log):gsub("back in", ""))
				opts.restart(server)
				if opts.restart_drops then -- the service dropped its occupants: the bot noticed and came back
					assert(until_({ b }, function() return select(2, process.read(log):gsub("back in", "")) > before end, 30),
						"the bot did not rejoin after the restart:\n" .. process.read(log))
				end
				assert(ping(pongs + 1), "no pong after the restart:\n" .. process.read(log))
				assert.is_true(b:close())
			end)
			bot:stop()
			local output = process.read(log)
			process.remove(dir)
			assert(ok, tostring(err) .. "\n--- the bot's output:\n" .. output)
		end)
	end)
end
