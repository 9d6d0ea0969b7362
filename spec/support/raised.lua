-- The error fn(arg) raises, called from this file's line (not as a tail
-- call): an error raised at the caller's level starts with
-- "spec/support/raised.lua:<line>: ", one raised deeper names the library.
return function(fn, arg)
	local ok, err = pcall(function()
		local result = fn(arg)
		return result
	end)
	assert(not ok, "no error raised")
	return err
end
