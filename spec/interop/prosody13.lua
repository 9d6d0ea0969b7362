-- Prosody 13 from Debian's bookworm-backports suite (on the mirror the
-- machine's sources use for bookworm), unpacked at test time into a
-- private directory (interop.debian: a private sources list, the machine's
-- apt sources and installed packages untouched). Its
-- dependencies are the ones Debian's Prosody 0.12 already brought.
--   prosody13.unpack(dir) -> { prosody =, prosodyctl =, version = } (the
--       options interop.prosody.start takes for it) | nil, why
local debian = require "interop.debian"
local process = require "interop.process"
local write = require("interop.server").write

local prosody13 = {}

-- The backports suite on the mirror the machine's own sources use for
-- bookworm (deb822 .sources files, or one-line sources.list entries).
local function backports_source()
	local paths = {}
	for path in io.popen("ls /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null"):lines() do
		paths[#paths + 1] = path
	end
	for _, path in ipairs(paths) do
		local text = process.read(path)
		for stanza in (text .. "\n\n"):gmatch("(.-)\n%s*\n") do
			local uri, suites = stanza:match("\nURIs:%s*(%S+)"), stanza:match("Suites:([^\n]*)")
			uri = uri or stanza:match("^URIs:%s*(%S+)")
			if uri and suites and (" " .. suites .. " "):find(" bookworm ", 1, true) then
				local keyring = stanza:match("Signed%-By:%s*(%S+)")
				return ("deb %s%s bookworm-backports main"):format(keyring and "[signed-by=" .. keyring .. "] " or "", uri)
			end
		end
		local uri = ("\n" .. text):match("\ndeb%s+(%S+)%s+bookworm%s")
		if uri then return "deb " .. uri .. " bookworm-backports main" end
	end
	return nil, "no source for bookworm in the machine's apt sources"
end

-- The launcher with its directories moved into the unpacked tree.
local function launcher(root, name, path)
	local text = process.read(root .. "/usr/bin/" .. name)
	text = text:gsub("\nCFG_SOURCEDIR='[^']*'", "\nCFG_SOURCEDIR='" .. root .. "/usr/lib/prosody'", 1)
		:gsub("\nCFG_PLUGINDIR='[^']*'", "\nCFG_PLUGINDIR='" .. root .. "/usr/lib/prosody/modules/'", 1)
	write(path, text)
	assert(process.run { "chmod", "755", path })
	return path
end

function prosody13.unpack(dir)
	local sources, missing = backports_source()
	if not sources then return nil, missing end
	local root, why = debian.unpack(dir, { "prosody/bookworm-backports" }, { sources = sources })
	if not root then return nil, why end
	local version = process.read(root .. "/usr/lib/prosody/prosody.version"):gsub("%s+$", "")
	return {
		prosody = launcher(root, "prosody", dir .. "/prosody"),
		prosodyctl = launcher(root, "prosodyctl", dir .. "/prosodyctl"),
		version = version,
	}
end

return prosody13
