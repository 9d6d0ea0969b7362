-- Loaded by busted (.busted's helper) before any spec file: the cqueues
-- modules, once for the whole run.
--
-- Why: busted runs each spec file insulated, and at the file's end unloads
-- every module the file loaded (package.loaded[k] = nil); the next file
-- loads them again. Loading a cqueues C module again (luaopen__cqueues_condition
-- and the like) installs fresh methods and __gc into the *same* metatable
-- with a nil upvalue first and sets the upvalue only a few allocations
-- later. A garbage collector step in between finalizes a condition of the
-- previous file with that __gc, whose self-check compares the metatable
-- with the nil upvalue: "bad argument #1 to '?' (CQS Condition expected,
-- got userdata)". Lua 5.4 turns an error in __gc into a warning; LuaJIT
-- (2.1.0-beta3) and Lua 5.1 raise it wherever the step ran, here while the
-- next file loaded lxmpp.clock (a suite-level error in tls_resume_spec after
-- sm_spec, one run in four). Loaded before any file, these modules are part
-- of every file's saved state and are never unloaded nor loaded again.
local modules = { "cqueues", "cqueues.condition", "cqueues.socket", "cqueues.errno", "cqueues.signal",
	"cqueues.thread", "cqueues.notify", "cqueues.promise", "cqueues.auxlib", "cqueues.dns",
	"cqueues.dns.resolvers", "cqueues.dns.config", "cqueues.dns.hosts", "cqueues.dns.hints",
	"cqueues.dns.packet", "cqueues.dns.record", "cqueues.dns.resolver" }
for _, name in ipairs(modules) do
	pcall(require, name) -- lxmpp runs without cqueues too: then there is nothing to keep
end
