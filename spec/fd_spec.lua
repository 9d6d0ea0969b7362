-- lxmpp.core.fd: a connected socket's descriptor as the bare object
-- lxmpp.server's sessions read and write (no buffers of its own), against
-- a real loopback connection made with cqueues.
local cqueues = require "cqueues"
local socket = require "cqueues.socket"
local core = require "lxmpp.core"
local compat = require "lxmpp.compat"

-- Runs fn(ours, peer) in a cqueues controller: ours is an lxmpp.core.fd of
-- the accepted side (its cqueues socket closed), peer the connecting side.
local function with_connection(fn)
	local cq = cqueues.new()
	local failure
	cq:wrap(function()
		local ok, err = compat.pcall(function() -- PUC 5.1: a pcall the coroutine can wait in
			local l = assert(socket.listen { host = "127.0.0.1", port = 0 })
			assert(l:listen())
			local _, _, port = l:localname()
			local peer = socket.connect { host = "127.0.0.1", port = port }
			assert(peer:connect(5))
			local accepted = assert(l:accept(5))
			local fd = assert(core.fd(accepted:pollfd()))
			accepted:close()
			l:close()
			peer:setmode("bn", "bn")
			fn(fd, peer)
			cqueues.cancel(fd:pollfd()) -- the controller forgets it before it is closed
			fd:close()
			peer:close()
		end)
		if not ok then failure = err end
	end)
	assert(cq:loop())
	if failure then error(failure, 0) end
end

describe("lxmpp.core.fd", function()
	it("reads what the peer wrote, says 'again' when there is nothing, and is pollable for reading", function()
		with_connection(function(fd, peer)
			assert.same({ nil, "again" }, { fd:read() })
			peer:write("hello")
			peer:flush()
			assert.equal(fd, cqueues.poll(fd, 5))
			assert.equal("hello", fd:read())
			assert.equal("r", fd:events())
			assert.is_number(fd:pollfd())
		end)
	end)

	it("reads at most max bytes", function()
		with_connection(function(fd, peer)
			peer:write("abcdef")
			peer:flush()
			cqueues.poll(fd, 5)
			assert.equal("abc", fd:read(3))
			assert.equal("def", fd:read())
		end)
	end)

	it("writes a range of a string and tells how much it wrote", function()
		with_connection(function(fd, peer)
			assert.equal(3, fd:write("xxabcyy", 3, 5))
			assert.equal("abc", peer:xread(3, "b", 5))
			assert.equal(2, fd:write("hi"))
			assert.equal("hi", peer:xread(2, "b", 5))
			assert.equal(0, fd:write("hi", 3))
		end)
	end)

	it("writes 0 bytes, without waiting, when the peer's window is full", function()
		with_connection(function(fd)
			local chunk, total = ("x"):rep(65536), 0
			while true do
				local n = assert(fd:write(chunk))
				total = total + n
				if n < #chunk then break end
			end
			assert.equal(0, fd:write(chunk))
			assert.is_true(total > 0)
		end)
	end)

	it("says 'eof' once the peer closed, and a write to it fails with a message (no SIGPIPE)", function()
		with_connection(function(fd, peer)
			peer:close()
			cqueues.poll(fd, 5)
			assert.same({ nil, "eof" }, { fd:read() })
			local failed, message
			for _ = 1, 10 do -- the first write may still be taken by the kernel
				local n, why = fd:write("x")
				if not n then
					failed, message = true, why
					break
				end
				cqueues.sleep(0.01)
			end
			assert.is_true(failed)
			assert.is_string(message)
		end)
	end)

	it("raises when used after close, which is idempotent, and shows its state", function()
		local l = assert(socket.listen { host = "127.0.0.1", port = 0 })
		local fd = assert(core.fd(l:pollfd()))
		l:close()
		assert.matches("^lxmpp.fd %d+$", tostring(fd))
		fd:close()
		fd:close()
		assert.equal("lxmpp.fd (closed)", tostring(fd))
		assert.has_error(function() fd:read() end, "lxmpp.fd: closed")
	end)

	it("refuses what is not a descriptor", function()
		assert.has_error(function() core.fd(-1) end)
		assert.same({ nil, "Bad file descriptor" }, { core.fd(1000000) })
	end)
end)
