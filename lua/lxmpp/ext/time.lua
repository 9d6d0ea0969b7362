-- lxmpp.ext.time: XEP-0202 entity time. Answers urn:xmpp:time with the
-- time in UTC and the zone offset (XEP-0082 formats) and asks others.
--   local time = c:use("time" [, { now =, tzo = }])
--   time:query(jid [, timeout]) -> { utc =, tzo =, time =, offset = } | nil, message, code
-- `now` returns seconds since the epoch (os.time by default: a test gives
-- its own); `tzo` is the offset announced ("+02:00"), the machine's own by
-- default.
local st = require "lxmpp.stanza"


local NS = "urn:xmpp:time"

local time = { name = "time", NS = NS }

---@class lxmpp.time
local methods = {}
local mt = { __name = "lxmpp.ext.time", __index = methods }

-- Integer division (no // before Lua 5.3).
local function div(a, b)
	return math.floor(a / b)
end

-- Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
-- days_from_civil): no os.time, whose answer depends on the local zone.
local function days_from_civil(y, m, d)
	if m <= 2 then y = y - 1 end
	local era = div(y >= 0 and y or y - 399, 400)
	local yoe = y - era * 400
	local doy = div(153 * (m + (m > 2 and -3 or 9)) + 2, 5) + d - 1
	local doe = yoe * 365 + div(yoe, 4) - div(yoe, 100) + doy
	return era * 146097 + doe - 719468
end

---Seconds of a zone offset "+hh:mm", "-hh:mm" or "Z"; nil when invalid.
---@param tzo string
---@return integer?
function time.offset(tzo)
	if tzo == "Z" then return 0 end
	local sign, h, m = tostring(tzo):match("^([+-])(%d%d):(%d%d)$")
	if not sign or tonumber(h) > 23 or tonumber(m) > 59 then return nil end
	local s = tonumber(h) * 3600 + tonumber(m) * 60
	return sign == "-" and -s or s
end

---The epoch seconds of a XEP-0082 DateTime (2006-12-19T17:58:35.123Z or
---with an offset); nil when invalid.
---@param text string
---@return number?
function time.parse(text)
	local y, mo, d, h, mi, s, frac, zone =
		tostring(text):match("^(%d%d%d%d)-(%d%d)-(%d%d)T(%d%d):(%d%d):(%d%d)(%.?%d*)(.*)$")
	if not y then return nil end
	y, mo, d, h, mi, s = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(s)
	if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or s > 60 or frac == "." then return nil end
	local offset = time.offset(zone)
	if not offset then return nil end
	local t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset
	if #frac > 1 then return t + tonumber("0" .. frac) end
	return t
end

---The XEP-0082 DateTime in UTC of epoch seconds.
---@param t number
---@return string
function time.format(t)
	return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

-- The machine's zone offset now, as "+hh:mm".
local function local_tzo(t)
	local here, utc = os.date("*t", t), os.date("!*t", t)
	here.isdst = false
	local s = os.time(here) - os.time(utc)
	local sign = s < 0 and "-" or "+"
	s = math.abs(s)
	return ("%s%02d:%02d"):format(sign, div(s, 3600), div(s % 3600, 60))
end

---What time an entity says it is: its `utc` and `tzo` texts, `time` (epoch
---seconds) and `offset` (seconds).
---@param jid string
---@param timeout? number seconds
---@return { utc: string, tzo: string, time: number, offset: integer }|nil answer
---@return string? message
---@return string? code
---@return table? error the error stanza, when the entity answered one
function methods:query(jid, timeout)
	local c = self.c
	local request = st.iq({ type = "get", to = jid, id = c:new_id() }):tag("time", { xmlns = NS })
	local reply, err, code, error_stanza = c:iq(request, timeout)
	if not reply then return nil, err, code, error_stanza end
	local el = reply:get_child("time", NS)
	local utc, tzo = el and el:get_child_text("utc"), el and el:get_child_text("tzo")
	local t, offset = utc and time.parse(utc), tzo and time.offset(tzo)
	if not (t and offset) then return nil, "the answer holds no valid urn:xmpp:time", "bad-reply" end
	return { utc = utc, tzo = tzo, time = t, offset = offset }
end

---c:use("time" [, { now = os.time, tzo = <the machine's> }])
---@param c table the connection
---@param opts table
---@return lxmpp.time
function time.init(c, opts)
	if opts.now ~= nil and type(opts.now) ~= "function" then error("lxmpp.ext.time: option 'now' is a function", 4) end
	if opts.tzo ~= nil and not time.offset(opts.tzo) then error("lxmpp.ext.time: option 'tzo' is like +02:00", 4) end
	local self = setmetatable({ c = c, now = opts.now or os.time, tzo = opts.tzo }, mt)
	c:use("disco"):add_feature(NS)
	c:on("iq", function(stanza)
		local q = stanza.tags[1]
		if stanza.attr.type ~= "get" or not q or q.name ~= "time" or q.attr.xmlns ~= NS then return nil end
		local t = self.now()
		return st.reply(stanza):tag("time", { xmlns = NS })
			:text_tag("tzo", self.tzo or local_tzo(math.floor(t))):text_tag("utc", time.format(t))
	end)
	return self
end

return time
