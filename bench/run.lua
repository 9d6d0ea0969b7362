-- make bench: runs every bench/*_bench.lua in turn. Each prints its figures
-- side by side with the peers' (Prosody) from the same run, as Markdown.
-- The machines are shared and noisy: compare ratios within one run.
local dir = "bench/"
local files = {}
for name in io.popen("ls " .. dir):lines() do
	if name:match("_bench%.lua$") then files[#files + 1] = name end
end
table.sort(files)
print(("lxmpp %s benchmarks, %s"):format(require "lxmpp".version, os.date("!%Y-%m-%d %H:%M UTC")))
for _, name in ipairs(files) do
	print("\n## " .. name:gsub("_bench%.lua$", "") .. "\n")
	io.stdout:flush()
	dofile(dir .. name)
end
