-- "min": what Lua 5.1, 5.2, 5.3, 5.4 and LuaJIT all have, so that a 5.4-only
-- function (table.unpack, math.type...) is caught; lxmpp.compat holds the
-- fallbacks (docs/versions.md).
std = "min"
max_line_length = 120
-- LuaCATS ---@field lines (function types) cannot be wrapped
max_comment_line_length = 240
files["spec"] = {
	std = "+busted",
	-- each spec's environment, from Lua 5.2 on and on 5.1/LuaJIT
	read_globals = { "_ENV", "getfenv", "setfenv", "loadstring", "jit" },
}
files["lua/lxmpp/compat.lua"] = { std = "max" }
-- bench/gen_corpus.lua is the team's shared corpus generator, kept as is
-- so that its output matches the published checksum.
exclude_files = { "build", "build-*", "luarocks-tree", "bench/gen_corpus.lua" }
files["examples/server.lua"] = { read_globals = { "setfenv" } } -- Lua 5.1's loadfile takes no env
