-- To-be-closed variables (`local x <close> = ...`) exist from Lua 5.4 on
-- and are a syntax error before. A test of such a scope loads it from
-- source on 5.4; elsewhere it gets nil and the reason, for pending():
--   local scope, why = close_scope([[return function(...) ... end]], _ENV)
--   if not scope then return pending(why) end
return function(source, env)
	if _VERSION < "Lua 5.4" then
		return nil, "<close> needs Lua 5.4, this is " .. _VERSION
			.. ": x:close() (in a pcall) is the equivalent, tested beside"
	end
	return assert(load(source, "=(<close> scope)", "t", env))()
end
