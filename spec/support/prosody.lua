-- Loads a module of Prosody 0.12 (Debian's, in /usr/lib/prosody) for the
-- side-by-side comparisons in specs and benchmarks: prosody("util.stanza")
-- returns the module, or nil and why. Prosody's paths are in front only
-- while it loads. Debian's Prosody runs on Lua 5.4, and its C modules
-- (util.encodings...) load in no other interpreter: prosody(name, true)
-- raises if the module does not load on 5.4, and elsewhere returns nil and
-- why, for the comparisons to be pending (the message says why).
local ROOT = "/usr/lib/prosody/"

-- Prosody's util.encodings (with ICU) keeps caches it never frees. Lua
-- unloads C modules when it closes the state, which would leave the leak
-- checker of `make asan` with frames it cannot name; taking Prosody's off
-- the list Lua unloads (Lua 5.4's loadlib.c keeps it in the registry as
-- _CLIBS) keeps them mapped, so that their caches stay reachable and ICU's
-- own leaks match .ci/lsan.supp. lxmpp's module stays on it, and is checked.
local function pin_prosody_libraries()
	local clibs = debug.getregistry()._CLIBS or {}
	for path, handle in pairs(clibs) do
		if type(path) == "string" and path:sub(1, #ROOT) == ROOT then
			for i = #clibs, 1, -1 do
				if clibs[i] == handle then table.remove(clibs, i) end
			end
		end
	end
end

local function load_module(name, required_on_54)
	local path, cpath = package.path, package.cpath
	package.path = ROOT .. "?.lua;" .. path
	package.cpath = ROOT .. "?.so;" .. cpath
	local ok, mod = pcall(require, name)
	package.path, package.cpath = path, cpath
	pin_prosody_libraries()
	if ok then return mod end
	local why = ("cannot load Prosody's %s from %s under %s: %s"):format(name, ROOT, _VERSION, tostring(mod))
	if required_on_54 and _VERSION == "Lua 5.4" then error(why, 3) end
	return nil, why
end

local prosody = setmetatable({}, {
	__call = function(_, name, required_on_54) return load_module(name, required_on_54) end,
})

-- For a spec that compares with Prosody throughout: the module (required
-- on 5.4), or nil after declaring the spec `title` pending with the reason;
-- env is the spec's environment (busted's describe, it, pending).
function prosody.for_spec(env, title, name)
	local mod, why = load_module(name, true)
	if not mod then
		env.describe(title, function()
			env.it("runs where Prosody's modules load", function() env.pending(why) end)
		end)
	end
	return mod
end

return prosody
