-- Server to server: two Debian Prosody 0.12 federating on the loopback of
-- a network namespace of their own (spec/interop/s2s_pair.lua under
-- `unshare --net`, as root like the rest of the interop tests), without
-- and with mod_lxmpp on both, with the same results: messages both ways,
-- and a stanza over the limit before authentication (10000 bytes) but
-- under s2s_stanza_size_limit (20000), which only arrives when the limit
-- raised on the open stream after dialback applies.
local json = require "dkjson"
local process = require "interop.process"

local function pair(mode)
	local lua_path, lua_cpath = process.lua54_env()
	local argv = { "unshare", "--net", "env", lua_path, lua_cpath, "lua5.4", process.dir .. "s2s_pair.lua" }
	argv[#argv + 1] = mode
	local _, output = process.run(argv)
	local report = json.decode(output:match("([^\n]+)\n*$") or "")
	assert(type(report) == "table" and report.ok, "s2s_pair.lua said:\n" .. output)
	return report
end

describe("Prosody 0.12 to Prosody 0.12 (s2s)", function()
	for _, case in ipairs { { "as it is" }, { "with mod_lxmpp on both", "lxmpp" } } do
		it("carries messages both ways, " .. case[1], function()
			local report = pair(case[2])
			assert.same({ from = "alice@127.0.0.2/home", body = "hello from the other server", id = "m1" }, report.there)
			assert.same({ from = "bob@127.0.0.3/work", body = "hello back", id = "m2" }, report.back)
			assert.equal(15000, report.big)
			-- each server's s2s streams (in, out, dialback's): lxmpp's, or none
			local a, b = report.lxmpp_s2s_streams[1], report.lxmpp_s2s_streams[2]
			if case[2] then
				assert.is_true(a >= 1 and b >= 1, a .. " and " .. b)
			else
				assert.same({ 0, 0 }, { a, b })
			end
		end)
	end
end)
