-- Debian packages unpacked into a private directory at test time, never
-- installed: `apt-get download` into the directory, then `dpkg -x`. The
-- machine's package lists are used as they are; with opts.sources, a
-- private sources list (its own lists and cache under the directory, the
-- machine's own sources and state untouched), e.g. another suite.
--   debian.unpack(dir, packages [, opts]) -> root | nil, output
--       root: dir .. "/root", where the packages' files are.
local process = require "interop.process"

local debian = {}

local function apt(dir, opts)
	local argv = { "apt-get", "-q", "-o", "APT::Sandbox::User=root" }
	if opts.sources then
		for _, o in ipairs {
			"Dir::Etc::sourcelist=" .. dir .. "/apt/sources.list",
			"Dir::Etc::sourceparts=" .. dir .. "/apt/sources.list.d",
			"Dir::State=" .. dir .. "/apt/state",
			"Dir::Cache=" .. dir .. "/apt/cache",
		} do
			argv[#argv + 1] = "-o"
			argv[#argv + 1] = o
		end
	end
	return argv
end

local function run(argv, dir, extra)
	for _, a in ipairs(extra) do argv[#argv + 1] = a end
	return process.run(argv, { cwd = dir })
end

function debian.unpack(dir, packages, opts)
	opts = opts or {}
	local made, failure = process.run { "mkdir", "-p", dir }
	if not made then return nil, failure end
	if opts.sources then
		local ok, out = process.run { "mkdir", "-p", dir .. "/apt/sources.list.d", dir .. "/apt/state/lists/partial",
			dir .. "/apt/cache/archives/partial" }
		if not ok then return nil, out end
		local f = assert(io.open(dir .. "/apt/sources.list", "w"))
		f:write(opts.sources, "\n")
		f:close()
		ok, out = run(apt(dir, opts), dir, { "update" })
		if not ok then return nil, out end
	end
	local argv = apt(dir, opts)
	argv[#argv + 1] = "download"
	local downloaded, out = run(argv, dir, packages)
	if not downloaded then return nil, out end
	local root = dir .. "/root"
	for name in io.popen("ls " .. dir):lines() do
		if name:match("%.deb$") then
			local unpacked, why = process.run { "dpkg", "-x", dir .. "/" .. name, root }
			if not unpacked then return nil, why end
		end
	end
	return root
end

return debian
