#!/usr/bin/python3
"""A stand-in org.freedesktop.Notifications server on a private session bus,
for the tests of `wsheartctl notify`. Every Notify call is printed on stdout
as one JSON line (flushed):

  {"id": 3, "replaces_id": 0, "app_name": "wsheartd", "summary": "...",
   "body": "...", "urgency": 1, "category": "im.received", "expire_timeout": -1}

Prints READY once it owns the name. --no-markup leaves "body-markup" out of
GetCapabilities. Needs python3-dbus and python3-gi (GLib main loop).
"""

import argparse
import json
import signal
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"


class Server(dbus.service.Object):
    def __init__(self, bus, markup):
        super().__init__(bus, PATH)
        self.markup = markup
        self.next_id = 1

    @dbus.service.method(NAME, in_signature="", out_signature="as")
    def GetCapabilities(self):
        caps = ["body", "persistence"]
        if self.markup:
            caps.append("body-markup")
        return caps

    @dbus.service.method(NAME, in_signature="", out_signature="ssss")
    def GetServerInformation(self):
        return ("mock-notifications", "wsheartd tests", "1.0", "1.2")

    @dbus.service.method(NAME, in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app_name, replaces_id, app_icon, summary, body, actions, hints, expire_timeout):
        if replaces_id != 0:
            nid = int(replaces_id)
        else:
            nid = self.next_id
            self.next_id += 1
        record = {
            "id": nid,
            "replaces_id": int(replaces_id),
            "app_name": str(app_name),
            "summary": str(summary),
            "body": str(body),
            "urgency": int(hints["urgency"]) if "urgency" in hints else None,
            "urgency_type": type(hints["urgency"]).__name__ if "urgency" in hints else None,
            "category": str(hints.get("category", "")),
            "expire_timeout": int(expire_timeout),
        }
        print(json.dumps(record, sort_keys=True), flush=True)
        return dbus.UInt32(nid)

    @dbus.service.method(NAME, in_signature="u", out_signature="")
    def CloseNotification(self, nid):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-markup", action="store_true")
    args = parser.parse_args()
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    server = Server(bus, not args.no_markup)
    name = dbus.service.BusName(NAME, bus, do_not_queue=True)
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    print("READY", flush=True)
    loop.run()
    del name, server


if __name__ == "__main__":
    sys.exit(main())
