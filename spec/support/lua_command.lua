-- The interpreter running the specs (lua5.1, luajit...), for specs that
-- start Lua programs (the examples, the demo): the lowest index of arg.
local i = -1
while arg[i - 1] do i = i - 1 end
return arg[i]
