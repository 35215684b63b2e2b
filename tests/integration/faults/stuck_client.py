#!/usr/bin/python3
"""A D-Bus client that subscribes to every signal and then never reads.

Usage: stuck_client.py ADDRESS
Connects, adds a match rule for all signals (and calls Subscribe on
org.wsheartd1), prints READY, then sleeps without ever dispatching, so the
bus daemon's queue towards it only grows. Exits on SIGTERM.
"""
import sys
import time

import dbus

bus = dbus.bus.BusConnection(sys.argv[1])
bus.add_match_string("type='signal'")
bus.call_blocking("org.wsheartd1", "/org/wsheartd1", "org.wsheartd1.Manager", "Subscribe", "", [])
print("READY", flush=True)
while True:
    time.sleep(3600)
