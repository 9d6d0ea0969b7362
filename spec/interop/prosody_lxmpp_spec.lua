-- What mod_lxmpp changes in a real Prosody, Debian's 0.12 and 13 (from
-- bookworm-backports, unpacked at test time), each shown beside the same
-- Prosody without it. All run on Debian's current expat
-- (bookworm-security's libexpat1, unpacked at test time into a private
-- directory: the machine's own may predate it), which carries the
-- CVE-2023-52425 "reparse deferral": Prosody's parser then holds back a
-- stanza whose start tag spans several reads until more bytes arrive.
local adversarial = require "support.adversarial"
local clock = require "lxmpp.clock"
local debian = require "interop.debian"
local process = require "interop.process"
local prosody = require "interop.prosody"
local prosody13 = require "interop.prosody13"
local raw = require "interop.raw"

local STREAMS = "urn:ietf:params:xml:ns:xmpp-streams"

-- The condition of the stream error the server sent, and its text.
local function stream_error(session, deadline)
	while true do
		local kind, st, code = session:next(deadline)
		if kind == nil then return nil, "no stream error: " .. tostring(st) .. " " .. tostring(code) end
		if kind == "stanza" and st.name == "error" then
			local condition, text
			for child in st:childtags(nil, STREAMS) do
				if child.name == "text" then text = child:get_text() else condition = child.name end
			end
			return condition, text
		end
	end
end

-- A ping's answer (Prosody answers an iq before authentication with
-- service-unavailable; any answer will do) by id, or nil on timeout.
local function answer(session, id, deadline)
	while true do
		local kind, st = session:next(deadline)
		if kind ~= "stanza" then return nil end
		if st.name == "iq" and st.attr.id == id then return st end
	end
end

local function ping(id)
	return "<iq type='get' id='" .. id .. "'><ping xmlns='urn:xmpp:ping'/></iq>"
end

-- Each Prosody: the options interop.prosody.start needs for it.
local installations = {
	{ "Prosody 0.12", function() return {} end },
	{ "Prosody 13", prosody13.unpack },
}

for _, installation in ipairs(installations) do
	describe("mod_lxmpp in " .. installation[1], function()
		local dir, plain, with_lxmpp

		lazy_setup(function()
			dir = process.tempdir()
			local opts = assert(installation[2](dir))
			local root = assert(debian.unpack(dir .. "/expat", { "libexpat1" }))
			opts.library_path = root .. "/lib/x86_64-linux-gnu"
		-- 13's limit before authentication as 0.12's (c2s_unauthed_stanza_size_limit)
		opts.config = { "c2s_stanza_size_limit = 10000" }
			plain = prosody.start(opts)
			with_lxmpp = prosody.start(prosody.with_lxmpp(opts))
		end)

		lazy_teardown(function()
			if plain then plain:stop() end
			if with_lxmpp then with_lxmpp:stop() end
			if dir then process.remove(dir) end
		end)

		-- Sends most of a ping's start tag, waits until the server has read it,
		-- then sends the rest, fewer bytes than came before (expat's deferral
		-- waits for as many again): returns whether the answer came within
		-- `seconds`.
		local function split_start_tag(server, seconds)
			local s = raw.open(server, clock.now() + 10)
			assert(s:write("<iq type='get' id='second' pad='" .. ("x"):rep(200) .. "'"))
			assert(s:read_by_server(clock.now() + 10))
			assert(s:write("><ping xmlns='urn:xmpp:ping'/></iq>"))
			local delivered = answer(s, "second", clock.now() + seconds) ~= nil
			return delivered, s
		end

		it("delivers a stanza whose start tag spans two reads at once; Prosody alone waits for more bytes", function()
			local delivered, s = split_start_tag(with_lxmpp, 10)
			assert.is_true(delivered)
			s:close()
			local stalled
			delivered, stalled = split_start_tag(plain, 2)
			assert.is_false(delivered, "Prosody's own parser delivered it: is this expat without reparse deferral?")
			assert(stalled:write((" "):rep(1000))) -- white space between stanzas releases it
			assert.truthy(answer(stalled, "second", clock.now() + 10))
			stalled:close()
		end)

		-- The bench's inputs, before authentication (c2s_unauthed_stanza_size_limit:
		-- 10000 bytes), in 4 KiB writes: after the stream header, or with it
		-- (a DOCTYPE must come first).
		local header = raw.header("prosody.test") -- the harness's default domain
		local too_big = "XML stanza is too big" -- Prosody's text for stanza-too-large
		local cases = {
			{ "80000 empty siblings", adversarial.siblings("", 80000), "policy-violation", too_big },
			{ "200000 two-byte text chunks", adversarial.chunks("", 200000), "policy-violation", too_big },
			{ "16000 attributes", adversarial.attrs("", 16000), "policy-violation", too_big },
			{ "100000 levels of nesting", adversarial.nesting("", 100000), "policy-violation",
				"limit exceeded: max_depth 64" },
			{ "the billion laughs", adversarial.laughs(header), "restricted-xml", "DOCTYPE is not allowed", true },
		}
		-- A comment is restricted XML: lxmpp says so, Prosody's parser says
		-- not-well-formed.
		local function condition_for_a_comment(server)
			local s = raw.open(server, clock.now() + 10)
			assert(s:write("<!-- hi -->"))
			local condition = stream_error(s, clock.now() + 10)
			s:close()
			return condition
		end

		it("gives Prosody's parser back when unloaded, and takes it again when loaded", function()
			assert.equal("restricted-xml", condition_for_a_comment(with_lxmpp))
			with_lxmpp:shell("module:unload('lxmpp')")
			assert.equal("not-well-formed", condition_for_a_comment(with_lxmpp))
			with_lxmpp:shell("module:load('lxmpp')")
			assert.equal("restricted-xml", condition_for_a_comment(with_lxmpp))
			assert.equal("not-well-formed", condition_for_a_comment(plain))
		end)

		for _, case in ipairs(cases) do
			local name, input, condition, text, whole = case[1], case[2], case[3], case[4], case[5]
			it("refuses " .. name .. " with " .. condition .. ", answering another session meanwhile", function()
				local bystander = raw.open(with_lxmpp, clock.now() + 10)
				local attacker = (whole and raw.connect or raw.open)(with_lxmpp, clock.now() + 10)
				for i = 1, #input, 4096 do
					-- the server closes the stream part way: writing may fail then
					if not attacker:write(input:sub(i, i + 4095), clock.now() + 10) then break end
				end
				local got, got_text = stream_error(attacker, clock.now() + 10)
				assert.equal(condition, got, got_text)
				assert.equal(text, got_text)
				attacker:close()
				assert(bystander:write(ping("still-there")))
				assert.truthy(answer(bystander, "still-there", clock.now() + 10))
				bystander:close()
			end)
		end
	end)
end
