-- `make install` puts every Lua module where require finds it (the server's
-- plugins and storage drivers, the extensions, the transports), beside the
-- C module, the library, the header and the Prosody module. (make runs
-- without the sanitizers' runtime that make asan preloads into Lua.)
describe("make install", function()
	it("installs every module of lua/ under LUA_DIR, and the rest", function()
		local dest = io.popen("mktemp -d /tmp/lxmpp-install-XXXXXX"):read("*l")
		local make = ("env -u LD_PRELOAD make --no-print-directory -s install DESTDIR=%s PREFIX=/p"
			.. " LUA_DIR=/p/lua LUA_LIBDIR=/p/lib/lua 2>&1"):format(dest)
		local pipe = io.popen(make)
		local out = pipe:read("*a")
		assert(pipe:close(), out)
		local function listing(command)
			local found = {}
			for line in io.popen(command):lines() do found[#found + 1] = line end
			table.sort(found)
			return found
		end
		local expected = listing("cd lua && find lxmpp -name '*.lua'")
		expected[#expected + 1] = "mod_lxmpp.lua"
		table.sort(expected)
		assert.same(expected, listing(("find %s/p/lua -name '*.lua' -printf '%%P\\n'"):format(dest)))
		for _, file in ipairs { "p/lib/lua/lxmpp/core.so", "p/lib/liblxmpp.a", "p/include/lxmpp.h" } do
			assert.truthy(io.open(dest .. "/" .. file), file)
		end
		os.execute("rm -rf " .. dest)
	end)
end)
