#!/usr/bin/python3
"""A stand-in for wsheartd on a private bus, for wsheartctl's tests.

Implements the contract's D-Bus API (org.wsheartd1: ObjectManager + Manager on
/org/wsheartd1, org.wsheartd1.User objects) from a JSON description of users,
with deterministic behaviour:

  Send(text)      open user: counted as sent, returns false, and the text comes
                  back as MessageReceived (like an echo server); a text starting
                  with "binary:" comes back as BinaryMessageReceived of the rest.
                  Not open: returns true (queued). "stopped": InvalidArgument.
                  A user with "access_denied": true answers AccessDenied.
  Reconnect()     StateChanged(old, "connecting", "manual"), then
                  StateChanged("connecting", "open", "connected").
  RecentMessages  the "history" texts (seq 1..n) plus everything echoed.
  Reload()        fails with InvalidConfig carrying the content of the file
                  given by --reload-error-file when that file exists.

Prints "READY" on stdout once it owns the name, "SUBSCRIBE <sender>" and
"UNSUBSCRIBE <sender>" on Subscribe/Unsubscribe. Needs python3-dbus and
python3-gi (GLib main loop).

Usage: fake_service.py [--system | --user] --users FILE [--reload-error-file FILE]
"""

import argparse
import json
import os
import signal
import sys
import time

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

BUS_NAME = "org.wsheartd1"
MANAGER_PATH = "/org/wsheartd1"
USER_PREFIX = "/org/wsheartd1/user"
MANAGER_IFACE = "org.wsheartd1.Manager"
USER_IFACE = "org.wsheartd1.User"
PROPS_IFACE = "org.freedesktop.DBus.Properties"
OM_IFACE = "org.freedesktop.DBus.ObjectManager"
VERSION = "0.1.0"


class InvalidConfig(dbus.DBusException):
    _dbus_error_name = "org.wsheartd1.Error.InvalidConfig"


class NoSuchUser(dbus.DBusException):
    _dbus_error_name = "org.wsheartd1.Error.NoSuchUser"


class AccessDenied(dbus.DBusException):
    _dbus_error_name = "org.wsheartd1.Error.AccessDenied"


class InvalidArgument(dbus.DBusException):
    _dbus_error_name = "org.wsheartd1.Error.InvalidArgument"


class UnknownProperty(dbus.DBusException):
    _dbus_error_name = "org.freedesktop.DBus.Error.UnknownProperty"


def path_encode(user_id):
    """sd_bus_path_encode(USER_PREFIX, id)."""
    raw = user_id.encode("utf-8")
    if not raw:
        return USER_PREFIX + "/_"
    out = []
    for b in raw:
        c = chr(b)
        if b < 128 and c.isalnum():
            out.append(c)
        else:
            out.append("_%02x" % b)
    return USER_PREFIX + "/" + "".join(out)


def now_usec():
    return int(time.time() * 1000000)


def emit(line):
    print(line, flush=True)


class User(dbus.service.Object):
    def __init__(self, bus, spec, started_usec):
        self.path = path_encode(spec["id"])
        super().__init__(bus, self.path)
        self.spec = spec
        self.id = spec["id"]
        self.url = spec.get("url", "ws://127.0.0.1:9/" + self.id)
        self.state = spec.get("state", "open")
        self.reason = spec.get("reason", "connected" if self.state == "open" else "started")
        self.since = started_usec - int(spec.get("since_ago", 0)) * 1000000
        self.rtt = int(spec.get("rtt_usec", 0))
        self.reconnects = int(spec.get("reconnects", 0))
        self.rx = int(spec.get("rx", 0))
        self.tx = int(spec.get("tx", 0))
        self.dropped = int(spec.get("dropped", 0))
        last_ago = spec.get("last_ago")
        self.last = 0 if last_ago is None else started_usec - int(last_ago) * 1000000
        self.history = []
        self.seq = 0
        for i, text in enumerate(spec.get("history", [])):
            self.seq += 1
            self.history.append((self.seq, started_usec - (len(spec["history"]) - i) * 1000000, text))

    def props(self):
        return {
            "Id": dbus.String(self.id),
            "Url": dbus.String(self.url),
            "Proxy": dbus.String(self.spec.get("proxy", "")),
            "State": dbus.String(self.state),
            "StateReason": dbus.String(self.reason),
            "StateSince": dbus.UInt64(self.since),
            "RoundTripUsec": dbus.UInt64(self.rtt),
            "Reconnects": dbus.UInt32(self.reconnects),
            "MessagesReceived": dbus.UInt64(self.rx),
            "MessagesSent": dbus.UInt64(self.tx),
            "MessagesDropped": dbus.UInt64(self.dropped),
            "LastMessageAt": dbus.UInt64(self.last),
            "MessagesDuplicate": dbus.UInt64(int(self.spec.get("duplicates", 0))),
            "Cursor": dbus.Dictionary(self.spec.get("cursor", {}), signature="ss"),
        }

    def check_access(self):
        if self.spec.get("access_denied"):
            raise AccessDenied("user '%s' is restricted to another Unix user" % self.id)

    # --- org.wsheartd1.User -------------------------------------------------
    @dbus.service.method(USER_IFACE, in_signature="s", out_signature="b")
    def Send(self, text):
        self.check_access()
        if self.state == "stopped":
            raise InvalidArgument("user '%s' is stopped" % self.id)
        if self.state != "open":
            return True
        self.tx += 1
        GLib.timeout_add(20, self._echo, str(text))
        return False

    def _echo(self, text):
        self.seq += 1
        self.rx += 1
        self.last = now_usec()
        if text.startswith("binary:"):
            self.BinaryMessageReceived(dbus.UInt64(self.seq), dbus.ByteArray(text[7:].encode("utf-8")))
        else:
            self.history.append((self.seq, self.last, text))
            self.MessageReceived(dbus.UInt64(self.seq), text)
        return False

    @dbus.service.method(USER_IFACE, in_signature="", out_signature="")
    def Reconnect(self):
        self.check_access()
        self._set_state("connecting", "manual")
        GLib.timeout_add(50, self._open)

    def _open(self):
        self.reconnects += 1
        self._set_state("open", "connected")
        return False

    def _set_state(self, new, reason):
        old = self.state
        self.state = new
        self.reason = reason
        self.since = now_usec()
        self.StateChanged(old, new, reason)

    @dbus.service.method(USER_IFACE, in_signature="t", out_signature="a(tts)")
    def RecentMessages(self, since_seq):
        self.check_access()
        return dbus.Array([dbus.Struct((dbus.UInt64(s), dbus.UInt64(t), dbus.String(x)), signature="tts")
                           for (s, t, x) in self.history if s > since_seq], signature="(tts)")

    @dbus.service.signal(USER_IFACE, signature="ts")
    def MessageReceived(self, seq, text):
        pass

    @dbus.service.signal(USER_IFACE, signature="tay")
    def BinaryMessageReceived(self, seq, data):
        pass

    @dbus.service.signal(USER_IFACE, signature="sss")
    def StateChanged(self, old, new, reason):
        pass

    # --- org.freedesktop.DBus.Properties -----------------------------------
    @dbus.service.method(PROPS_IFACE, in_signature="ss", out_signature="v")
    def Get(self, interface, name):
        props = self.GetAll(interface)
        if name not in props:
            raise UnknownProperty(name)
        return props[name]

    @dbus.service.method(PROPS_IFACE, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        if interface != USER_IFACE:
            return dbus.Dictionary({}, signature="sv")
        return dbus.Dictionary(self.props(), signature="sv")


class Manager(dbus.service.Object):
    def __init__(self, bus, users, reload_error_file):
        super().__init__(bus, MANAGER_PATH)
        self.users = users
        self.reload_error_file = reload_error_file

    @dbus.service.method(OM_IFACE, in_signature="", out_signature="a{oa{sa{sv}}}")
    def GetManagedObjects(self):
        out = {}
        for u in self.users:
            out[dbus.ObjectPath(u.path)] = {
                USER_IFACE: dbus.Dictionary(u.props(), signature="sv"),
                PROPS_IFACE: dbus.Dictionary({}, signature="sv"),
            }
        return dbus.Dictionary(out, signature="oa{sa{sv}}")

    @dbus.service.method(MANAGER_IFACE, in_signature="", out_signature="")
    def Reload(self):
        if self.reload_error_file and os.path.exists(self.reload_error_file):
            with open(self.reload_error_file, encoding="utf-8") as f:
                raise InvalidConfig(f.read().rstrip("\n"))

    @dbus.service.method(MANAGER_IFACE, in_signature="", out_signature="", sender_keyword="sender")
    def Subscribe(self, sender=None):
        emit("SUBSCRIBE %s" % sender)

    @dbus.service.method(MANAGER_IFACE, in_signature="", out_signature="", sender_keyword="sender")
    def Unsubscribe(self, sender=None):
        emit("UNSUBSCRIBE %s" % sender)

    @dbus.service.method(PROPS_IFACE, in_signature="ss", out_signature="v")
    def Get(self, interface, name):
        props = self.GetAll(interface)
        if name not in props:
            raise UnknownProperty(name)
        return props[name]

    @dbus.service.method(PROPS_IFACE, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        if interface != MANAGER_IFACE:
            return dbus.Dictionary({}, signature="sv")
        return dbus.Dictionary({
            "Version": dbus.String(VERSION),
            "UserCount": dbus.UInt32(len(self.users)),
            "OpenCount": dbus.UInt32(sum(1 for u in self.users if u.state == "open")),
        }, signature="sv")


def main():
    parser = argparse.ArgumentParser()
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--system", action="store_true")
    group.add_argument("--user", action="store_true")
    parser.add_argument("--users", required=True, help="JSON file: a list of user objects")
    parser.add_argument("--reload-error-file")
    args = parser.parse_args()

    with open(args.users, encoding="utf-8") as f:
        specs = json.load(f)

    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus() if args.user else dbus.SystemBus()
    started = now_usec()
    users = [User(bus, spec, started) for spec in specs]
    manager = Manager(bus, users, args.reload_error_file)
    name = dbus.service.BusName(BUS_NAME, bus, do_not_queue=True)

    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    emit("READY")
    loop.run()
    del name, manager, users
    return 0


if __name__ == "__main__":
    sys.exit(main())
