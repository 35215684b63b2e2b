#!/bin/sh
# The one-liners of README.md, runnable: each is one line below. BUS is the
# bus option for busctl (--system / --user / --address=...) and GBUS the one
# for gdbus (--system / --session / --address ...); the defaults are the
# system bus.
BUS=${BUS:---system}
GBUS=${GBUS:---system}
set -x
# Which users are there, and is alice connected?
busctl $BUS --json=short call org.wsheartd1 /org/wsheartd1 org.freedesktop.DBus.ObjectManager GetManagedObjects | jq -r '.data[0][] | .["org.wsheartd1.User"] // empty | "\(.Id.data) \(.State.data)"'
busctl $BUS get-property org.wsheartd1 /org/wsheartd1/user/alice org.wsheartd1.User State
# Send a text, and read what alice received since seq 0.
busctl $BUS call org.wsheartd1 /org/wsheartd1/user/alice org.wsheartd1.User Send s 'echo:hello from busctl'
gdbus call $GBUS --dest org.wsheartd1 --object-path /org/wsheartd1/user/alice --method org.wsheartd1.User.RecentMessages 0
# Wait for alice's next message (gdbus monitor prints every signal: messages, state changes, PropertiesChanged).
gdbus monitor $GBUS --dest org.wsheartd1 --object-path /org/wsheartd1/user/alice | grep -m1 MessageReceived
