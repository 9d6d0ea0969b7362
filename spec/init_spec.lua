-- The module lxmpp: submodules load on first use, by name.
describe("lxmpp", function()
	local saved = {}

	-- A fresh lxmpp table (fields are cached on first use).
	local function fresh()
		package.loaded.lxmpp = nil
		return require "lxmpp"
	end

	before_each(function()
		saved.path, saved.cpath = package.path, package.cpath
		saved.server, saved.preload = package.loaded["lxmpp.server"], package.preload["lxmpp.server"]
	end)

	after_each(function()
		package.path, package.cpath = saved.path, saved.cpath
		package.loaded["lxmpp.server"], package.preload["lxmpp.server"] = saved.server, saved.preload
		package.loaded.lxmpp = nil
	end)

	it("loads a submodule on first use and keeps it", function()
		local lxmpp = fresh()
		assert.is_nil(rawget(lxmpp, "stanza"))
		assert.equal(require "lxmpp.stanza", lxmpp.stanza)
		assert.equal(require "lxmpp.stanza", rawget(lxmpp, "stanza"))
		assert.equal(require "lxmpp.jid", lxmpp.jid)
		assert.equal(require "lxmpp.core".version, lxmpp.version)
	end)

	it("gives nil for a name that is no submodule", function()
		assert.is_nil(fresh().no_such_module)
	end)

	it("gives lxmpp.server once it is installed", function()
		local server = {}
		package.loaded["lxmpp.server"] = nil
		package.preload["lxmpp.server"] = function() return server end
		assert.equal(server, fresh().server)
	end)

	it("says clearly that a submodule is not installed", function()
		package.loaded["lxmpp.server"], package.preload["lxmpp.server"] = nil, nil
		local lxmpp = fresh()
		package.path, package.cpath = "", ""
		local ok, err = pcall(function() return lxmpp.server end)
		assert.is_false(ok)
		assert.matches("lxmpp.server is not part of this installation of lxmpp", err, 1, true)
		assert.matches("init_spec.lua", err, 1, true) -- blamed on the caller
	end)
end)
