#!/usr/bin/python3
"""Follow wsheartd from Python with Gio (python3-gi): print every text
message and every state change, one line each, until interrupted.

Usage: subscriber.py [--system | --session | ADDRESS]   (default --system)

  /org/wsheartd1/user/alice message 17 {"event":"call"}
  /org/wsheartd1/user/alice state open -> backoff (heartbeat_timeout)
"""
import signal
import sys

from gi.repository import Gio, GLib

BUS_NAME = "org.wsheartd1"
USER_IFACE = "org.wsheartd1.User"


def connect(arg):
    if arg in (None, "--system"):
        return Gio.bus_get_sync(Gio.BusType.SYSTEM, None)
    if arg == "--session":
        return Gio.bus_get_sync(Gio.BusType.SESSION, None)
    flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
             | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)
    return Gio.DBusConnection.new_for_address_sync(arg, flags, None, None)


def on_signal(_bus, _sender, path, _iface, member, params):
    if member == "MessageReceived":
        seq, text = params.unpack()
        print(path, "message", seq, text, flush=True)
    elif member == "StateChanged":
        old, new, reason = params.unpack()
        print(path, "state", old, "->", new, f"({reason})", flush=True)


def main():
    bus = connect(sys.argv[1] if len(sys.argv) > 1 else None)
    # Every signal of the User interface from wsheartd (any user object).
    bus.signal_subscribe(BUS_NAME, USER_IFACE, None, None, None,
                         Gio.DBusSignalFlags.NONE, on_signal)
    # Needed on the system bus for users with unix_user; harmless elsewhere.
    bus.call_sync(BUS_NAME, "/org/wsheartd1", "org.wsheartd1.Manager", "Subscribe",
                  None, None, Gio.DBusCallFlags.NONE, 5000, None)
    print("subscribed", file=sys.stderr, flush=True)
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    loop.run()


if __name__ == "__main__":
    main()
