#!/usr/bin/python3
"""Runs an lxmpp bot's ad-hoc commands (XEP-0050) with slixmpp's xep_0050,
as a real client does, for spec/interop/adhoc_suite.lua:

  slixmpp_adhoc.py HOST PORT CAFILE JID PASSWORD BOT_FULL_JID

Lists the bot's commands, runs "uptime", runs "greet" in two steps (its
form, then the submission: name "Slixmpp", tone "formal"), then starts
"greet" again and cancels it. One JSON line: {"ok": true, "commands":
[[node, name]...], "uptime": {"status", "notes"}, "form": {"title",
"fields": [vars]}, "greet": {"status", "notes", "greeting"}, "canceled":
status}, or {"ok": false, "error": ...}. Exit status 0 when ok.
"""
import asyncio
import json
import sys

import slixmpp

NS = "http://jabber.org/protocol/commands"


def field_vars(form):
    fields = form["fields"]
    if hasattr(fields, "keys"):
        return list(fields.keys())
    return [f["var"] for f in fields]


def notes_of(iq):
    return [[kind, text] for kind, text in iq["command"]["notes"]]


async def run(xmpp, bot):
    items = await xmpp["xep_0030"].get_items(jid=bot, node=NS)
    commands = [[item[1], item[2]] for item in items["disco_items"]["items"]]

    def command(node, action, session=None, form=None):
        iq = xmpp.make_iq_set(ito=bot)
        iq["command"]["node"] = node
        iq["command"]["action"] = action
        if session:
            iq["command"]["sessionid"] = session
        if form is not None:
            iq["command"].append(form)
        return iq.send()

    uptime = await command("uptime", "execute")
    first = await command("greet", "execute")
    form = first["command"]["form"]
    submit = xmpp["xep_0004"].make_form(ftype="submit")
    submit.add_field(var="name", value="Slixmpp")
    submit.add_field(var="tone", value="formal")
    done = await command("greet", "complete", first["command"]["sessionid"], submit)
    again = await command("greet", "execute")
    canceled = await command("greet", "cancel", again["command"]["sessionid"])
    return {
        "ok": True, "commands": commands,
        "uptime": {"status": uptime["command"]["status"], "notes": notes_of(uptime)},
        "form": {"title": form["title"], "fields": field_vars(form)},
        "greet": {"status": done["command"]["status"], "notes": notes_of(done),
                  "greeting": done["command"]["form"].get_values().get("greeting")},
        "canceled": canceled["command"]["status"],
    }


def main():
    host, port, cafile, jid, password, bot = sys.argv[1:7]
    xmpp = slixmpp.ClientXMPP(jid + "/adhoc", password)
    xmpp.ca_certs = cafile
    for plugin in ("xep_0030", "xep_0004", "xep_0050"):
        xmpp.register_plugin(plugin)
    loop = asyncio.get_event_loop()
    started = loop.create_future()
    xmpp.add_event_handler("session_start", lambda _: started.done() or started.set_result(True))
    xmpp.add_event_handler("failed_all_auth", lambda _: started.done() or started.set_exception(RuntimeError("auth")))
    xmpp.connect((host, int(port)))

    async def go():
        await asyncio.wait_for(started, 20)
        try:
            return await asyncio.wait_for(run(xmpp, bot), 20)
        finally:
            await xmpp.disconnect(wait=2)

    try:
        report = loop.run_until_complete(go())
    except Exception as e:  # the report says what failed
        report = {"ok": False, "error": repr(e)}
    print(json.dumps(report), flush=True)
    sys.exit(0 if report["ok"] else 1)


main()
