-- The ```lua blocks of a document, each as a function that runs it, so that
-- the examples in docs/ stay true:
--   for name, run in require "support.doc_examples"("docs/xml.md") do it(name, run) end
return function(path)
	local file = assert(io.open(path))
	local doc = file:read("*a")
	file:close()
	local examples = {}
	for code in doc:gmatch("```lua\n(.-)```") do
		local name = ("%s example %d runs"):format(path, #examples + 1)
		examples[#examples + 1] = { name, function() assert((loadstring or load)(code, "=" .. name))() end }
	end
	assert(#examples > 0, path .. " has no examples")
	local i = 0
	return function()
		i = i + 1
		if examples[i] then return examples[i][1], examples[i][2] end
	end
end
