#!/usr/bin/python3
"""Plays logind and (optionally) NetworkManager on a private system-style bus.

    fake_system.py --address ADDRESS [--nm-state N] [--no-nm]

Owns org.freedesktop.login1 (Manager: Inhibit, signal PrepareForSleep) and,
unless --no-nm, org.freedesktop.NetworkManager (properties State and
PrimaryConnection, PropertiesChanged). Prints "READY" once both names are
owned. Commands on stdin, each acknowledged with "OK <command>" once done:

  sleep            emit PrepareForSleep(true)
  wake             emit PrepareForSleep(false)
  nm-state N       set NetworkManager's State to N and emit PropertiesChanged
  nm-primary PATH  set PrimaryConnection and emit PropertiesChanged

Prints "INHIBIT <what> <mode>" when an inhibitor is taken and
"INHIBIT released" when its holder closes the fd. Run with /usr/bin/python3.
"""

import argparse
import os
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

LOGIN1 = "org.freedesktop.login1"
MANAGER = "org.freedesktop.login1.Manager"
NM = "org.freedesktop.NetworkManager"
PROPS = "org.freedesktop.DBus.Properties"


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Login1(dbus.service.Object):
    def __init__(self, bus):
        super().__init__(bus, "/org/freedesktop/login1")

    @dbus.service.method(MANAGER, in_signature="ssss", out_signature="h")
    def Inhibit(self, what, who, why, mode):
        ours, theirs = os.pipe()
        out(f"INHIBIT {what} {mode}")

        def closed(fd, _cond):
            out("INHIBIT released")
            os.close(fd)
            return False

        GLib.io_add_watch(ours, GLib.IO_HUP | GLib.IO_ERR | GLib.IO_IN, closed)
        handle = dbus.types.UnixFd(theirs)
        os.close(theirs)
        return handle

    @dbus.service.signal(MANAGER, signature="b")
    def PrepareForSleep(self, start):
        pass


class NetworkManager(dbus.service.Object):
    def __init__(self, bus, state):
        super().__init__(bus, "/org/freedesktop/NetworkManager")
        self.props = {"State": dbus.UInt32(state), "PrimaryConnection": dbus.ObjectPath("/org/freedesktop/NetworkManager/ActiveConnection/1"),
                      "Version": dbus.String("1.42.4")}

    @dbus.service.method(PROPS, in_signature="ss", out_signature="v")
    def Get(self, interface, name):
        return self.props[name]

    @dbus.service.method(PROPS, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        return self.props

    @dbus.service.signal(PROPS, signature="sa{sv}as")
    def PropertiesChanged(self, interface, changed, invalidated):
        pass

    def set(self, name, value):
        self.props[name] = value
        self.PropertiesChanged(NM, {name: value}, [])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--nm-state", type=int, default=70)
    parser.add_argument("--no-nm", action="store_true")
    args = parser.parse_args()

    DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(args.address)
    names = [dbus.service.BusName(LOGIN1, bus)]
    login1 = Login1(bus)
    nm = None
    if not args.no_nm:
        names.append(dbus.service.BusName(NM, bus))
        nm = NetworkManager(bus, args.nm_state)
    loop = GLib.MainLoop()

    def command(fd, _cond):
        line = sys.stdin.readline()
        if not line:
            loop.quit()
            return False
        cmd = line.strip()
        words = cmd.split()
        if cmd == "sleep":
            login1.PrepareForSleep(True)
        elif cmd == "wake":
            login1.PrepareForSleep(False)
        elif words[:1] == ["nm-state"] and nm:
            nm.set("State", dbus.UInt32(int(words[1])))
        elif words[:1] == ["nm-primary"] and nm:
            nm.set("PrimaryConnection", dbus.ObjectPath(words[1]))
        else:
            out(f"ERROR {cmd}")
            return True
        bus.flush()
        out(f"OK {cmd}")
        return True

    GLib.io_add_watch(sys.stdin.fileno(), GLib.IO_IN | GLib.IO_HUP, command)
    out("READY")
    loop.run()


if __name__ == "__main__":
    main()
