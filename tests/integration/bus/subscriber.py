#!/usr/bin/python3
# Print every text message wsheartd republishes. Usage: subscriber.py [ADDRESS]
import sys
import dbus
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

DBusGMainLoop(set_as_default=True)
bus = dbus.bus.BusConnection(sys.argv[1]) if len(sys.argv) > 1 else dbus.SystemBus()

def on_message(seq, text, path):
    print(path, int(seq), text, flush=True)

bus.add_signal_receiver(on_message, "MessageReceived", "org.wsheartd1.User",
                        "org.wsheartd1", path_keyword="path")
bus.call_blocking("org.wsheartd1", "/org/wsheartd1", "org.wsheartd1.Manager",
                  "Subscribe", "", [])  # needed for users with unix_user on the system bus
GLib.MainLoop().run()
