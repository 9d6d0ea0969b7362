-- lxmpp.ext.adhoc: XEP-0050 commands between two clients through the tiny
-- server: listing by access, multi-step sessions with forms, prev, cancel,
-- notes, and the errors of §4.6 (forbidden, bad-sessionid, bad-action,
-- malformed-action, resource-constraint, session-expired), sessions
-- expiring on the clock.
local harness = require "support.tiny_harness"
local forms = require "lxmpp.ext.forms"

-- A two-step command: the name, then a confirmation; prev goes back.
local function greet(request)
	local s = request.session
	if request.action == "execute" or request.action == "prev" then
		return { status = "executing", actions = { "next" }, form = forms.new{ title = "Who?",
			fields = { { var = "name", type = "text-single", required = true, value = s.name } } } }
	end
	if request.action == "next" then
		local values, why = request.form and request.form:values() or nil, "no form"
		if not values or not values.name then
			return { status = "executing", actions = { "next" }, notes = { { type = "error", text = why } } }
		end
		s.name = values.name
		return { status = "executing", actions = { "prev", "complete" }, notes = { { type = "info", text = "sure?" } },
			form = forms.new{ fields = { { var = "loud", type = "boolean", value = false } } } }
	end
	local loud = request.form and request.form:values().loud
	local text = "Hello, " .. s.name
	return { status = "completed", notes = { { type = "info", text = loud and text:upper() or text } } }
end

-- The condition and error stanza of a call that must fail.
local function fails(result, _, code, e)
	assert.is_nil(result)
	return code, e
end

describe("lxmpp.ext.adhoc", function()
	it("lists the commands one may run, and runs one in steps with forms", function()
		harness.with_server(function(server, cq, clk)
			local juliet = assert(harness.connect(server, "juliet"))
			local romeo = assert(harness.connect(server, "romeo"))
			local nurse = assert(harness.connect(server, "nurse"))
			cq:wrap(function() juliet:loop() end)
			local provider = juliet:use("adhoc", { max_sessions = 2, session_timeout = 60 })
			provider:add_command{ node = "greet", name = "Greet", allow = { "romeo@" .. harness.DOMAIN }, handler = greet }
			provider:add_command{ node = "mine", name = "Mine only", handler = function()
				return { status = "completed" }
			end }
			assert.has_error(function() provider:add_command{ node = "greet", name = "again", handler = greet } end)

			local adhoc = romeo:use("adhoc")
			assert.same({ { jid = juliet.jid, node = "greet", name = "Greet" } }, assert(adhoc:list(juliet.jid)))
			assert.same({}, assert(nurse:use("adhoc"):list(juliet.jid)))
			local info = assert(romeo:use("disco"):info(juliet.jid, "greet"))
			assert.equal("command-node", info.identities[1].type)
			assert.is_true(romeo:use("disco"):has_feature(juliet.jid, "http://jabber.org/protocol/commands"))

			local r = assert(adhoc:execute(juliet.jid, "greet"))
			assert.equal("executing", r.status)
			assert.same({ "next" }, r.actions)
			assert.equal("Who?", r.form.title)
			local id = r.sessionid
			r = assert(adhoc:execute(juliet.jid, "greet", { sessionid = id, action = "next",
				form = assert(r.form:submit{ name = "Juliet" }) }))
			assert.same({ "prev", "complete" }, r.actions)
			assert.equal("complete", r.default)
			assert.same({ { type = "info", text = "sure?" } }, r.notes)
			-- prev: back to the first form, which remembers the name
			r = assert(adhoc:execute(juliet.jid, "greet", { sessionid = id, action = "prev" }))
			assert.equal("Juliet", r.form:values().name)
			r = assert(adhoc:execute(juliet.jid, "greet", { sessionid = id, action = "next",
				form = assert(r.form:submit{ name = "Juliet" }) }))
			-- "execute" means the default action (complete)
			r = assert(adhoc:execute(juliet.jid, "greet", { sessionid = id, form = assert(r.form:submit{ loud = true }) }))
			assert.equal("completed", r.status)
			assert.same({ { type = "info", text = "HELLO, JULIET" } }, r.notes)
			-- the session is over
			local code, e = fails(adhoc:execute(juliet.jid, "greet", { sessionid = id, action = "next" }))
			assert.equal("bad-request", code)
			assert.truthy(e:find("error/{http://jabber.org/protocol/commands}bad-sessionid"))

			-- cancel
			r = assert(adhoc:execute(juliet.jid, "greet"))
			assert.equal("canceled", assert(adhoc:execute(juliet.jid, "greet", { sessionid = r.sessionid,
				action = "cancel" })).status)

			-- an action not offered, an action that does not exist
			r = assert(adhoc:execute(juliet.jid, "greet"))
			code, e = fails(adhoc:execute(juliet.jid, "greet", { sessionid = r.sessionid, action = "complete" }))
			assert.equal("bad-request", code)
			assert.truthy(e:find("error/{http://jabber.org/protocol/commands}bad-action"))
			local st = require "lxmpp.stanza"
			local bad = st.iq({ type = "set", to = juliet.jid, id = "x1" }):tag("command", {
				xmlns = require("lxmpp.ext.adhoc").NS, node = "greet", action = "dance" })
			code, e = fails(romeo:iq(bad))
			assert.equal("bad-request", code)
			assert.truthy(e:find("error/{http://jabber.org/protocol/commands}malformed-action"))

			-- two sessions open (max_sessions): a third waits; they expire after session_timeout
			local open = assert(adhoc:execute(juliet.jid, "greet"))
			code = fails(adhoc:execute(juliet.jid, "greet"))
			assert.equal("resource-constraint", code)
			clk.advance(61)
			code, e = fails(adhoc:execute(juliet.jid, "greet", { sessionid = open.sessionid, action = "next" }))
			assert.equal("not-allowed", code)
			assert.truthy(e:find("error/{http://jabber.org/protocol/commands}session-expired"))
			assert(adhoc:execute(juliet.jid, "greet"))
			code = fails(adhoc:execute(juliet.jid, "greet", { sessionid = "guess", action = "next" }))
			assert.equal("bad-request", code)

			-- access control: nurse may not, even knowing the node; nor romeo "mine"
			code = fails(nurse:use("adhoc"):execute(juliet.jid, "greet"))
			assert.equal("forbidden", code)
			code = fails(adhoc:execute(juliet.jid, "mine"))
			assert.equal("forbidden", code)
			code = fails(adhoc:execute(juliet.jid, "nothing"))
			assert.equal("item-not-found", code)
			harness.close(juliet, romeo, nurse)
		end)
	end)
end)
