#!/bin/sh
# dunst "script" rule: dunst runs it with appname summary body icon urgency.
# One tab-separated line per notification, into $RECORD_LOG.
printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$RECORD_LOG"
