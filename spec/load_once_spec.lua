-- spec/support/load_once.lua (the helper in .busted) loads the cqueues C
-- modules before any spec file, so that busted, which unloads what a file
-- loaded at the file's end, never loads them a second time: loading one
-- again runs finalizers of the previous file's objects with a __gc whose
-- upvalue is still nil ("CQS Condition expected, got userdata" on LuaJIT).
-- Read before this file requires anything: what was loaded when it began.
local at_start = {}
for _, name in ipairs { "_cqueues", "_cqueues.condition", "_cqueues.socket", "_cqueues.errno" } do
	at_start[name] = package.loaded[name] ~= nil
end

describe("the spec run's helper", function()
	it("has cqueues' C modules loaded before a spec file begins, so none is loaded twice", function()
		if not pcall(require, "cqueues") then return pending("cqueues is not installed") end
		assert.same({ ["_cqueues"] = true, ["_cqueues.condition"] = true, ["_cqueues.socket"] = true,
			["_cqueues.errno"] = true }, at_start)
	end)
end)
