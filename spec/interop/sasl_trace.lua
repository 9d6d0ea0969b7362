-- Reads the tiny server's trace (spec/interop/tiny_server_main.lua: one
-- line per chunk, "<session> <sent|received> <data>") for what clients do
-- at SASL: each <auth/> with its mechanism and GS2 header (RFC 5802 §7:
-- "n", "y", or "p=<channel-binding type>") or PLAIN's authorization
-- identity, and the server's answer.
--   sasl_trace.attempts(trace) -> user -> list of { mechanism =, gs2 =,
--       authzid =, outcome = "success" | "failure <condition>" | "none" }
--   sasl_trace.describe(list) -> one line, as EXPECTED has it
--   sasl_trace.EXPECTED: client name -> what its account "a" did (a line
--       as describe() gives it, or a function of the list)
--   sasl_trace.REFUSED: the same with a wrong password
--   sasl_trace.matches(EXPECTED[name] or REFUSED[name], list) -> boolean
local sasl_trace = {}

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function unbase64(s)
	local bits = s:gsub("[^%w%+/]", ""):gsub(".", function(c)
		local v = B64:find(c, 1, true) - 1
		local b = ""
		for i = 5, 0, -1 do b = b .. math.floor(v / 2 ^ i) % 2 end
		return b
	end)
	return (bits:gsub("%d%d%d%d%d%d%d%d", function(byte) return string.char(tonumber(byte, 2)) end))
end

local function attempt_of(mechanism, payload)
	local message = unbase64(payload)
	local a = { mechanism = mechanism, outcome = "none" }
	if mechanism:match("^SCRAM") then
		local gs2, authzid, rest = message:match("^([^,]*),([^,]*),(.*)$")
		a.gs2, a.authzid = gs2, authzid ~= "" and authzid:gsub("^a=", "") or nil
		a.user = rest and rest:match("^n=([^,]*)")
	elseif mechanism == "PLAIN" then
		local authzid, authcid = message:match("^([^%z]*)%z([^%z]*)%z")
		a.authzid, a.user = authzid ~= "" and authzid or nil, authcid
	end
	return a
end

function sasl_trace.attempts(trace)
	local sessions = {}
	for n, direction, data in trace:gmatch("(%d+) (%S+) ([^\n]*)") do
		local s = sessions[n]
		if not s then
			s = { received = "", attempts = {}, answered = 0 }
			sessions[n] = s
		end
		data = data:gsub("\\n", "\n")
		if direction == "received" then
			s.received = s.received .. data
			-- every complete <auth/> so far, then keep what follows the last
			local rest = s.received
			for attrs, payload, after in s.received:gmatch("<auth%s([^>]-)>([^<]*)</auth>()") do
				local mechanism = attrs:match("mechanism=[\"']([^\"']+)")
				s.attempts[#s.attempts + 1] = attempt_of(mechanism, payload)
				rest = s.received:sub(after)
			end
			s.received = rest
		else
			for element, attrs, after in data:gmatch("<(%a+) xmlns=[\"']urn:ietf:params:xml:ns:xmpp%-sasl[\"']([^>]*)>()") do
				if element == "success" or element == "failure" then
					s.answered = s.answered + 1
					local a = s.attempts[s.answered]
					local condition = not attrs:match("/$") and data:sub(after):match("^<([%w%-]+)")
					if a then a.outcome = element == "success" and "success" or "failure " .. (condition or "?") end
				end
			end
		end
	end
	local numbers = {}
	for n in pairs(sessions) do numbers[#numbers + 1] = tonumber(n) end
	table.sort(numbers)
	local by_user = {}
	for _, n in ipairs(numbers) do
		local s = sessions[tostring(n)]
		local user = s.attempts[1] and s.attempts[1].user
		if user then
			by_user[user] = by_user[user] or {}
			for _, a in ipairs(s.attempts) do table.insert(by_user[user], a) end
		end
	end
	return by_user
end

function sasl_trace.describe(list)
	if not list or #list == 0 then return "no SASL" end
	local parts = {}
	for _, a in ipairs(list) do
		local words = { a.mechanism }
		if a.gs2 then words[#words + 1] = a.gs2 end
		if a.authzid then words[#words + 1] = "authzid=" .. a.authzid end
		parts[#parts + 1] = table.concat(words, " ") .. ": " .. a.outcome
	end
	return table.concat(parts, "; ")
end

-- Seen with Debian 12's packages and @xmpp/client 0.14.0; the tiny server
-- offers SCRAM-SHA-512/256/1 and their -PLUS (tls-exporter and
-- tls-server-end-point on TLS 1.3, also tls-unique on TLS 1.2) and PLAIN.
sasl_trace.EXPECTED = {
	-- on TLS 1.3 it binds to tls-unique, which TLS 1.3 does not have, in
	-- each -PLUS variant, then tries plain SCRAM with 'y' (a downgrade
	-- the tiny server refuses, if the stream is still open: how many
	-- failures it allows decides how many of those it reads)
	slixmpp = function(list)
		local line = sasl_trace.describe(list)
		local plus = "SCRAM-SHA-512-PLUS p=tls-unique: failure malformed-request; "
			.. "SCRAM-SHA-256-PLUS p=tls-unique: failure malformed-request; "
			.. "SCRAM-SHA-1-PLUS p=tls-unique: failure malformed-request"
		if line:sub(1, #plus) ~= plus then return false end
		for attempt in line:sub(#plus + 1):gmatch("; ([^;]+)") do
			if not attempt:match("^SCRAM%-SHA%-%d+ y: ") or attempt:match(": success$") then return false end
		end
		return true
	end,
	aioxmpp = "SCRAM-SHA-256 n: success",
	-- nbxmpp has -PLUS code but drops it: Gio gives it no channel binding
	nbxmpp = "SCRAM-SHA-512 n: success",
	libstrophe = "SCRAM-SHA-512 n: success",
	-- gloox negotiates TLS 1.2 only, where tls-unique exists
	gloox = "SCRAM-SHA-1-PLUS p=tls-unique: success",
	["xmpp.js"] = "SCRAM-SHA-1 n: success",
	-- Authen::SASL's PLAIN, with the account's own bare JID as authzid
	["Net::XMPP"] = "PLAIN authzid=netxmppa@lxmpp.test: success",
	-- it writes "\n" after <starttls/>, before its ClientHello: since the
	-- connection takes every byte (white space before a boundary is the old
	-- stream's), STARTTLS works, and it picks PLAIN
	["go-sendxmpp"] = "PLAIN: success",
}

-- With a wrong password: who tries the next mechanism with it.
sasl_trace.REFUSED = {
	slixmpp = sasl_trace.EXPECTED.slixmpp,
	aioxmpp = "SCRAM-SHA-256 n: failure not-authorized",
	nbxmpp = "SCRAM-SHA-512 n: failure not-authorized",
	libstrophe = "SCRAM-SHA-512 n: failure not-authorized; SCRAM-SHA-256 n: failure not-authorized; "
		.. "SCRAM-SHA-1 n: failure not-authorized",
	gloox = "SCRAM-SHA-1-PLUS p=tls-unique: failure not-authorized",
	["xmpp.js"] = "SCRAM-SHA-1 n: failure not-authorized",
	["Net::XMPP"] = "PLAIN authzid=netxmppa@lxmpp.test: failure not-authorized",
	["go-sendxmpp"] = "PLAIN: failure not-authorized",
}

-- Whether what a client did (a list from attempts()) is what an entry of
-- EXPECTED or REFUSED says.
function sasl_trace.matches(expected, list)
	if type(expected) == "function" then return expected(list) end
	return sasl_trace.describe(list) == expected
end

return sasl_trace
