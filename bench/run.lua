-- make bench: runs every bench/*_bench.lua in turn. Each prints its figures
-- side by side with the peers' (Prosody) from the same run, as Markdown.
-- The machines are shared and noisy: compare ratios within one run.
-- LXMPP_BENCH="xml client" runs those alone (make bench: on LuaJIT).
local dir = "bench/"
local only = os.getenv("LXMPP_BENCH")
local files = {}
for name in io.popen("ls " .. dir):lines() do
	local bench = name:match("^(.-)_bench%.lua$")
	if bench and (not only or (" " .. only .. " "):find(" " .. bench .. " ", 1, true)) then
		files[#files + 1] = name
	end
end
table.sort(files)
local jit = rawget(_G, "jit")
local interpreter = jit and jit.version or _VERSION
print(("lxmpp %s benchmarks on %s, %s"):format(require "lxmpp".version, interpreter, os.date("!%Y-%m-%d %H:%M UTC")))
for _, name in ipairs(files) do
	print("\n## " .. name:gsub("_bench%.lua$", "") .. "\n")
	io.stdout:flush()
	dofile(dir .. name)
end
