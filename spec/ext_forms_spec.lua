-- lxmpp.ext.forms: XEP-0004 data forms, built, sent, read back and checked.
local forms = require "lxmpp.ext.forms"
local xml = require "lxmpp.xml"

local function roundtrip(form)
	local parsed, why = forms.parse(assert(xml.parse(tostring(form:element()))))
	assert(parsed, why)
	return parsed
end

describe("lxmpp.ext.forms", function()
	local config = forms.new{
		type = "form", title = "Bot configuration", instructions = { "Fill in", "then submit" },
		fields = {
			{ var = "FORM_TYPE", type = "hidden", value = "urn:example:bot" },
			{ type = "fixed", value = "Section 1" },
			{ var = "name", type = "text-single", label = "Name", required = true },
			{ var = "public", type = "boolean", value = true, desc = "listed?" },
			{ var = "owner", type = "jid-single" },
			{ var = "admins", type = "jid-multi" },
			{ var = "motd", type = "text-multi", value = "line one\nline two" },
			{ var = "colour", type = "list-single", options = { { label = "Red", value = "red" }, "green" }, value = "red" },
			{ var = "tags", type = "list-multi", options = { "a", "b" } },
		},
	}

	it("writes a form and reads it back with typed values", function()
		local f = roundtrip(config)
		assert.equal("form", f.type)
		assert.equal("Bot configuration", f.title)
		assert.same({ "Fill in", "then submit" }, f.instructions)
		local v = f:values()
		assert.equal("urn:example:bot", v.FORM_TYPE)
		assert.equal(true, v.public)
		assert.same({ "line one", "line two" }, v.motd)
		assert.equal("red", v.colour)
		assert.equal(true, f:field("name").required)
		assert.equal("listed?", f:field("public").desc)
		assert.same({ { label = "Red", value = "red" }, { value = "green" } }, f:field("colour").options)
		assert.equal("fixed", f.fields[2].type)
		assert.equal("urn:example:bot", forms.form_type(f))
	end)

	it("checks a submission: types, required fields, options", function()
		local good = assert(config:submit{ name = "bot", public = "0", owner = "Juliet@Capulet.example",
			admins = { "a@b.example", "c@d.example" }, colour = "green", tags = { "a" } })
		assert.equal("submit", good.type)
		-- what a peer sends back, read and checked by the form's owner
		local values = assert(config:check(roundtrip(good)))
		assert.equal(false, values.public)
		assert.equal("juliet@capulet.example", values.owner)
		assert.same({ "a@b.example", "c@d.example" }, values.admins)
		assert.equal("urn:example:bot", values.FORM_TYPE)

		local function refused(values_, var, pattern)
			local ok, why, which = config:check(values_)
			assert.is_nil(ok)
			assert.equal(var, which)
			assert.matches(pattern, why)
		end
		refused({ public = true }, "name", "required")
		refused({ name = "x", public = "yes" }, "public", "not a boolean")
		refused({ name = "x", owner = "@bad" }, "owner", "not a JID")
		refused({ name = "x", colour = "blue" }, "colour", "not one of the options")
		refused({ name = "x", tags = { "a", "z" } }, "tags", "'z' is not one of the options")
		refused({ name = { "x", "y" } }, "name", "more than one value")
	end)

	it("refuses a form with an unknown field type or a field twice", function()
		local function bad(text, pattern)
			local f, why = forms.parse(assert(xml.parse(text)))
			assert.is_nil(f)
			assert.matches(pattern, why)
		end
		bad("<x xmlns='jabber:x:data' type='form'><field var='a' type='colour'/></x>", "unknown type")
		bad("<x xmlns='jabber:x:data' type='form'><field var='a'/><field var='a'/></x>", "twice")
		bad("<x xmlns='jabber:x:data' type='form'><field var='a' type='boolean'><value>maybe</value></field></x>",
			"not a boolean")
		bad("<x xmlns='jabber:x:data' type='weird'/>", "type")
		bad("<x xmlns='jabber:x:data' type='result'><reported><field var='a'/></reported>"
			.. "<item><field var='b'><value>1</value></field></item></x>", "not reported")
		assert.has_error(function() forms.new{ fields = { { var = "x", type = "colour" } } } end)
		assert.has_error(function() forms.new{ fields = { { type = "text-single" } } } end)
	end)

	it("carries a table of results: reported columns and items", function()
		local results = roundtrip(forms.new{
			type = "result", title = "Search",
			reported = { { var = "jid", type = "jid-single", label = "JID" }, { var = "online", type = "boolean" } },
			items = { { jid = "a@example.com", online = true }, { jid = "b@example.com", online = false } },
		})
		assert.same({ "jid", "online" }, { results.reported[1].var, results.reported[2].var })
		assert.same({ { jid = "a@example.com", online = true }, { jid = "b@example.com", online = false } }, results.items)
	end)
end)
