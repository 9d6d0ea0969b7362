-- Prosody 13 from Debian's bookworm-backports suite, unpacked at test time
-- into a private directory (interop.debian: a private sources list, the
-- machine's apt sources and installed packages untouched). Its
-- dependencies are the ones Debian's Prosody 0.12 already brought.
--   prosody13.unpack(dir) -> { prosody =, prosodyctl =, version = } (the
--       options interop.prosody.start takes for it) | nil, why
local debian = require "interop.debian"
local process = require "interop.process"

local prosody13 = {}

local SOURCES = "deb %MIRROR% bookworm-backports main"

-- The launcher with its directories moved into the unpacked tree.
local function launcher(root, name, path)
	local text = process.read(root .. "/usr/bin/" .. name)
	text = text:gsub("\nCFG_SOURCEDIR='[^']*'", "\nCFG_SOURCEDIR='" .. root .. "/usr/lib/prosody'", 1)
		:gsub("\nCFG_PLUGINDIR='[^']*'", "\nCFG_PLUGINDIR='" .. root .. "/usr/lib/prosody/modules/'", 1)
	local f = assert(io.open(path, "w"))
	f:write(text)
	f:close()
	assert(process.run { "chmod", "755", path })
	return path
end

function prosody13.unpack(dir)
	local root, why = debian.unpack(dir, { "prosody/bookworm-backports" }, { sources = SOURCES })
	if not root then return nil, why end
	local version = process.read(root .. "/usr/lib/prosody/prosody.version"):gsub("%s+$", "")
	return {
		prosody = launcher(root, "prosody", dir .. "/prosody"),
		prosodyctl = launcher(root, "prosodyctl", dir .. "/prosodyctl"),
		version = version,
	}
end

return prosody13
