-- The adversarial inputs of bench/xml_bench.lua, shared with the interop
-- tests that send them to servers. Each function takes what goes before
-- the stanza (a stream header, or "" on a stream already open) and a size.
local adversarial = {}

-- n empty child elements
function adversarial.siblings(head, n)
	return head .. "<message>" .. ("<a/>"):rep(n) .. "</message>"
end

-- text in n two-byte pieces (a line break each)
function adversarial.chunks(head, n)
	return head .. "<message>" .. ("x\n"):rep(n) .. "</message>"
end

-- n attributes on one start tag
function adversarial.attrs(head, n)
	local t = {}
	for i = 1, n do t[i] = (" a%d='v'"):format(i) end
	return head .. "<message" .. table.concat(t) .. "/>"
end

-- n levels of nesting
function adversarial.nesting(head, n)
	return head .. "<message>" .. ("<a>"):rep(n) .. ("</a>"):rep(n) .. "</message>"
end

-- entities expanding to a billion "lol"s, declared in a DOCTYPE
function adversarial.laughs(head)
	local t = { "<!DOCTYPE lolz [<!ENTITY lol 'lol'>" }
	local prev = "lol"
	for i = 1, 9 do
		t[#t + 1] = ("<!ENTITY lol%d '%s'>"):format(i, ("&" .. prev .. ";"):rep(10))
		prev = "lol" .. i
	end
	return table.concat(t) .. "]>" .. head .. "<message>&lol9;</message>"
end

return adversarial
