-- lxmpp.server.random: the server's ids, secrets and decoy keys come from
-- the core's CSPRNG (lxmpp.core.random_bytes), not from a device file.
local random = require "lxmpp.server.random"
local core = require "lxmpp.core"

describe("lxmpp.server.random", function()
	it("gives the bytes asked for, different each time, and hex of them", function()
		local a, b = random.bytes(32), random.bytes(32)
		assert.equal(32, #a)
		assert.not_equal(a, b)
		local h = random.hex(6)
		assert.matches("^%x+$", h)
		assert.equal(12, #h)
	end)

	it("refuses a count outside 1 to 1024", function()
		assert.has_error(function() core.random_bytes(0) end)
		assert.has_error(function() core.random_bytes(1025) end)
		assert.equal(1024, #core.random_bytes(1024))
	end)
end)
