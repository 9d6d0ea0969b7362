-- lxmpp.clock: the one clock every deadline in lxmpp is measured on.
--   clock.now() -> seconds (a float), only differences are meaningful
-- A deadline is clock.now() + timeout, computed once per call chain and
-- handed down, so that nested waits share one budget. The clock is
-- monotonic (CLOCK_MONOTONIC, through cqueues) when cqueues is installed,
-- otherwise LuaSocket's wall clock; one source is chosen at load time, so
-- all deadlines in a process are comparable.
---@class lxmpp.clock
---@field now fun(): number seconds; only differences between two readings mean something
---@field monotonic boolean whether now() is CLOCK_MONOTONIC (with cqueues)

local ok, cqueues = pcall(require, "cqueues")
if ok then
	return { now = cqueues.monotime, monotonic = true }
end

local have_socket, socket = pcall(require, "socket")
if have_socket then
	return { now = socket.gettime, monotonic = false }
end

error("lxmpp.clock: needs cqueues or LuaSocket", 2)
