#!/bin/sh
# A shell pipeline on `wsheartctl monitor --json`: one line per message,
# "USER: TEXT", and one per outage, "USER is down (REASON)". jq's --unbuffered
# (and monitor's flush per line) keep it live.
#   monitor-pipeline.sh [--user] [ID...]
exec wsheartctl --json monitor "$@" | jq --unbuffered -r '
  if .event == "message" then "\(.user): \(.text)"
  elif .event == "state" and .new != "open" then "\(.user) is down (\(.reason))"
  elif .event == "state" then "\(.user) is up"
  else empty end'
