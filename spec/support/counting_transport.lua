-- The cqueues transport, counting the connections made through it, so that
-- a test can tell one attempt from a reconnection storm:
--   local t = require "support.counting_transport"()
--   component.connect { ..., transport = t }; assert(t.connects == 1)
return function()
	local base = require "lxmpp.transport.cqueues"
	local t = { connects = 0 }
	function t.connect(...)
		t.connects = t.connects + 1
		return base.connect(...)
	end
	return t
end
